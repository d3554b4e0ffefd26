import { RunnelClient, type ClientOptions, type ConsumedRecord } from '@runnel/client';
import type { HistoryRecorder } from './recorder.js';

export interface ReadWorkersOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly client: ClientOptions;
  /** A read operation covers at most this many records or this long. */
  readonly chunkRecords: number;
  readonly chunkMs: number;
}

/**
 * One subscription per partition from the earliest offset, kept for the whole run (the client
 * resubscribes across leader changes). What arrives is recorded as `read` operations of at most
 * chunkRecords records or chunkMs: invoke when the chunk started waiting, ok with the records in
 * arrival order. A subscription that fails ends its session; a new one starts from the earliest.
 */
export class ReadWorkers {
  private stopped = false;
  /** Clients of the live subscriptions (stop() closes them to end their loops). */
  private readonly clients = new Set<RunnelClient>();
  private readonly tasks: Array<Promise<void>> = [];

  constructor(private readonly history: HistoryRecorder, private readonly o: ReadWorkersOptions) {}

  start(): void {
    for (let p = 0; p < this.o.partitions; p++) this.tasks.push(this.reader(p));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.clients].map((c) => c.close().catch(() => undefined)));
    await Promise.all(this.tasks);
  }

  private async reader(partition: number): Promise<void> {
    for (let incarnation = 0; !this.stopped && !this.history.full; incarnation++) {
      const client = new RunnelClient({ ...this.o.client, retry: { retriesMax: 100, initialBackoffMs: 20, backoffMsMax: 500 } });
      this.clients.add(client);
      const process = this.history.newProcess();
      const session = `r${partition}-${incarnation}`;
      const consumer = client.consumer({ topic: this.o.topic, partitions: [partition], from: 'earliest' });
      let chunk: Array<readonly [number, string]> = [];
      // A read operation is invoked when its first record arrives, and completes at the flush.
      const flush = (): void => {
        if (chunk.length === 0) return;
        this.history.add({ type: 'ok', f: 'read', process, time: Date.now(), partition, session, records: chunk });
        chunk = [];
      };
      const timer = setInterval(flush, this.o.chunkMs);
      try {
        for await (const r of consumer as AsyncIterable<ConsumedRecord>) {
          if (chunk.length === 0) this.history.add({ type: 'invoke', f: 'read', process, time: Date.now(), partition, session });
          chunk.push([r.offset, r.value.toString()]);
          if (chunk.length >= this.o.chunkRecords) flush();
          if (this.stopped) break;
        }
      } catch (err) {
        flush();
        this.history.add({ type: 'invoke', f: 'read', process, time: Date.now(), partition, session });
        this.history.add({ type: 'fail', f: 'read', process, time: Date.now(), partition, session, error: err instanceof Error ? err.message : String(err) });
      } finally {
        clearInterval(timer);
        flush();
        await consumer.close().catch(() => undefined);
        await client.close().catch(() => undefined);
        this.clients.delete(client);
      }
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
