import type { Workload } from './workload.js';

/** Systems the bench can drive. */
export type SystemName = 'runnel' | 'jetstream';

/** Where a workload's records go: a Runnel topic, or a set of JetStream streams (one per partition). */
export interface BenchTopic {
  readonly name: string;
  readonly partitions: number;
}

/**
 * How the bench talks to a system under test. The workloads (throughput.ts, ack-latency.ts, …)
 * only use this, so Runnel and JetStream run the very same loops.
 */
export interface BenchSystem {
  readonly system: SystemName;
  /** What an acknowledged write survives on this system as it runs (fsync policy, ack level). */
  readonly durability: string;
  /** Creates a fresh topic (unique name) shaped by the workload: partitions, replication. */
  createTopic(workload: Workload): Promise<BenchTopic>;
  /** Best effort: frees the topic's data. */
  deleteTopic(topic: BenchTopic): Promise<void>;
  producer(topic: BenchTopic, workload: Workload): BenchProducer;
  /**
   * round-trip: one request answered by the leader of partition 0 of `topic` without touching disk
   * or replication (the floor under every latency figure).
   */
  roundTrip(topic: BenchTopic): Promise<void>;
  /** A consumer of every partition from the beginning; `ready` resolves once it is subscribed everywhere. */
  consumer(topic: BenchTopic, onRecord: (value: Uint8Array) => void): BenchConsumer;
  close(): Promise<void>;
}

export interface BenchProducer {
  /** Resolves once the record is acknowledged at the workload's ack level (with whatever the system answers). */
  send(value: Buffer): Promise<unknown>;
  /** Sends whatever is buffered and waits for it. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface BenchConsumer {
  /** Resolves once every partition's subscription is in place. */
  readonly ready: Promise<void>;
  /** Rejects when the consumer fails (never resolves otherwise; close() ends it quietly). */
  readonly failed: Promise<never>;
  close(): Promise<void>;
}
