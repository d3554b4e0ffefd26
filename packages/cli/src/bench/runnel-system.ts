import { randomBytes } from 'node:crypto';
import type { RunnelClient } from '@runnel/client';
import { waitFor } from '@runnel/testkit';
import { SUBSCRIBE_READY_MS_MAX, TOPIC_READY_MS_MAX } from './constants.js';
import type { BenchConsumer, BenchProducer, BenchSystem, BenchTopic } from './bench-system.js';
import type { Workload } from './workload.js';

/** Polling interval while waiting for a consumer's subscriptions (they answer within a round trip). */
const READY_POLL_MS = 5;

/**
 * Runnel through its own TypeScript client, used as an application would: one producer per
 * workload (the client batches per partition, lingerMs from the workload; without a key or
 * partition it spreads records over partitions itself), one consumer iterated record by record.
 */
export class RunnelSystem implements BenchSystem {
  readonly system = 'runnel' as const;

  constructor(
    private readonly client: RunnelClient,
    /** The brokers' fsync policy as the bench knows it ('always', 'interval:MS', …, or 'unknown'). */
    readonly fsync: string,
  ) {}

  get durability(): string {
    return this.fsync === 'unknown'
      ? 'the brokers\' own --fsync (an existing cluster: not known to the bench)'
      : `fsync ${this.fsync} on every broker`;
  }

  async createTopic(workload: Workload): Promise<BenchTopic> {
    const name = `bench-${workload.name}-${randomBytes(4).toString('hex')}`;
    await this.client.admin.createTopic({ name, partitions: workload.partitions, replicationFactor: workload.replication });
    // createTopic answers once every partition has a leader, but a leader may not have applied the
    // new metadata yet (a produce then fails with UNKNOWN_TOPIC, not retried): wait until each
    // leader answers ListOffsets for its partition.
    await waitFor(async () => {
      const offsets = await this.client.admin.partitionOffsets(name);
      return offsets.length === workload.partitions && offsets.every((p) => p.highWatermark >= 0);
    }, { timeoutMs: TOPIC_READY_MS_MAX, intervalMs: READY_POLL_MS, description: `every leader of ${name} to serve it` });
    await this.client.refreshMetadata();
    return { name, partitions: workload.partitions };
  }

  async deleteTopic(topic: BenchTopic): Promise<void> {
    await this.client.admin.deleteTopic(topic.name);
  }

  producer(topic: BenchTopic, workload: Workload): BenchProducer {
    const producer = this.client.producer({ acks: workload.acks, lingerMs: workload.lingerMs });
    return {
      send: (value) => producer.send(topic.name, { value }),
      flush: () => producer.flush(),
      close: () => producer.close(),
    };
  }

  async roundTrip(topic: BenchTopic): Promise<void> {
    // One ListOffsets to the partition's leader, answered from memory (the round-trip topic is empty).
    await this.client.admin.offsetForTimestamp(topic.name, 0, 0);
  }

  consumer(topic: BenchTopic, onRecord: (value: Uint8Array) => void): BenchConsumer {
    const consumer = this.client.consumer({ topic: topic.name, from: 'earliest' });
    const loop = (async () => {
      for await (const record of consumer) onRecord(record.value);
    })();
    const failed = loop.then(() => new Promise<never>(() => undefined));
    failed.catch(() => undefined);
    const ready = waitFor(() => consumer.positions().size >= topic.partitions, {
      timeoutMs: SUBSCRIBE_READY_MS_MAX, intervalMs: READY_POLL_MS, description: `a consumer subscribed to every partition of ${topic.name}`,
    }).then(() => undefined);
    ready.catch(() => undefined);
    return {
      ready,
      failed,
      close: async () => {
        await consumer.close();
        await loop.catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
