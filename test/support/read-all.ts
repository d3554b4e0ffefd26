// Reads `count` records of a topic from the beginning with the client's consumer, giving up (with
// what it has) after `timeoutMs`, so a test asserting on the result fails instead of hanging.
import type { ConsumedRecord, RunnelClient } from '@runnel/client';

export async function readAll(client: RunnelClient, topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const consumer = client.consumer({ topic, from: 'earliest' });
  const out: ConsumedRecord[] = [];
  const deadline = setTimeout(() => void consumer.close(), timeoutMs);
  try {
    for await (const r of consumer) {
      out.push(r);
      if (out.length === count) break;
    }
  } finally {
    clearTimeout(deadline);
    await consumer.close();
  }
  return out;
}
