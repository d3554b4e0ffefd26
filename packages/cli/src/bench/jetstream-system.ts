import { randomBytes } from 'node:crypto';
import { waitFor } from '@runnel/testkit';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import {
  JETSTREAM_PUBLISH_TIMEOUT_MS, JETSTREAM_PULL_BYTES_MAX, JETSTREAM_READY_MS_MAX, SUBSCRIBE_READY_MS_MAX,
} from './constants.js';
import type { BenchConsumer, BenchProducer, BenchSystem, BenchTopic } from './bench-system.js';
import type { Workload } from './workload.js';

/** Pause between two attempts while the JetStream cluster elects its meta leader. */
const READY_RETRY_MS = 250;

/** Rejects after `ms` (its timer does not hold the process open). */
function timeout(ms: number, what: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms).unref();
  });
}

function streamName(topic: BenchTopic, partition: number): string {
  return `${topic.name}-p${partition}`;
}

function subject(topic: BenchTopic, partition: number): string {
  return `${topic.name}.p${partition}`;
}

/**
 * NATS JetStream through the official `nats` client, mapped onto the same workloads:
 * a partition is a stream (its own Raft group, file storage, `num_replicas` = the workload's
 * replication) with one subject; a producer spreads records round-robin over the partitions'
 * subjects with `js.publish` (answered once the stream's replicas have stored it: a quorum);
 * a consumer is one ordered consumer per stream from the first message (an R1 in-memory
 * consumer without acks, pulled in windows of 1 MiB like the Runnel consumer's default credit).
 *
 * JetStream has one ack level (the quorum one): other levels are refused. Its file store syncs to
 * disk on a timer (`sync_interval`, 2 minutes by default), not per write.
 */
export class JetStreamSystem implements BenchSystem {
  readonly system = 'jetstream' as const;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly durability: string;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, durability: string) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = nc.jetstream();
    this.durability = durability;
  }

  /**
   * Connects and waits (bounded) until JetStream answers: a new cluster needs a meta leader first.
   * `syncInterval` only labels the results (the servers' own setting is what applies).
   */
  static async open(servers: readonly string[], syncInterval: string): Promise<JetStreamSystem> {
    const { connect } = await import('nats');
    const nc = await connect({ servers: [...servers], name: 'runnel-bench', timeout: JETSTREAM_READY_MS_MAX });
    try {
      const jsm = await waitFor(async () => {
        const m = await nc.jetstreamManager();
        await m.getAccountInfo();
        return m;
      }, { timeoutMs: JETSTREAM_READY_MS_MAX, intervalMs: READY_RETRY_MS, description: 'JetStream to answer (meta leader elected)' });
      const version = nc.info?.version ?? 'unknown';
      return new JetStreamSystem(nc, jsm, `nats-server ${version}, file storage, fsync ${syncInterval}`);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async createTopic(workload: Workload): Promise<BenchTopic> {
    if (workload.acks !== 'quorum') {
      throw new Error(`workload ${workload.name}: JetStream acknowledges a publish once a quorum of the stream's replicas stored it; acks "${workload.acks}" has no equivalent (use quorum)`);
    }
    const { DiscardPolicy, RetentionPolicy, StorageType } = await import('nats');
    const topic: BenchTopic = { name: `bench-${workload.name.replace(/\./g, '_')}-${randomBytes(4).toString('hex')}`, partitions: workload.partitions };
    for (let p = 0; p < topic.partitions; p++) {
      const config = {
        name: streamName(topic, p),
        subjects: [subject(topic, p)],
        storage: StorageType.File,
        num_replicas: workload.replication,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
      };
      // Right after the cluster forms, stream placement can fail until every peer is known.
      await waitFor(() => this.#jsm.streams.add(config), {
        timeoutMs: JETSTREAM_READY_MS_MAX, intervalMs: READY_RETRY_MS, description: `JetStream to create stream ${config.name}`,
      });
    }
    return topic;
  }

  async deleteTopic(topic: BenchTopic): Promise<void> {
    for (let p = 0; p < topic.partitions; p++) await this.#jsm.streams.delete(streamName(topic, p));
  }

  producer(topic: BenchTopic, _workload: Workload): BenchProducer {
    const subjects = Array.from({ length: topic.partitions }, (_, p) => subject(topic, p));
    const options = { timeout: JETSTREAM_PUBLISH_TIMEOUT_MS };
    let next = 0;
    return {
      send: (value) => {
        const s = subjects[next] ?? subject(topic, 0);
        next = (next + 1) % subjects.length;
        return this.#js.publish(s, value, options);
      },
      // Every publish is written at once and answered individually: nothing to flush but the socket.
      flush: () => this.#nc.flush(),
      close: () => Promise.resolve(),
    };
  }

  async roundTrip(topic: BenchTopic): Promise<void> {
    // STREAM.INFO is answered by the stream's leader from memory, like Runnel's ListOffsets.
    await this.#jsm.streams.info(streamName(topic, 0));
  }

  consumer(topic: BenchTopic, onRecord: (value: Uint8Array) => void): BenchConsumer {
    const iterators: ConsumerMessages[] = [];
    let closed = false;
    // An ordered consumer without options starts at stream sequence 1 (by_start_sequence). Passing
    // deliver_policy "all" makes nats.js 2.29 also send opt_start_seq, which nats-server 2.9 refuses,
    // and consume() then never resolves.
    const opened = (async () => {
      for (let p = 0; p < topic.partitions && !closed; p++) {
        const consumer = await this.#js.consumers.get(streamName(topic, p));
        iterators.push(await consumer.consume({ max_bytes: JETSTREAM_PULL_BYTES_MAX }));
      }
    })();
    const ready = Promise.race([opened, timeout(SUBSCRIBE_READY_MS_MAX, `ordered consumers on every stream of ${topic.name}`)]);
    ready.catch(() => undefined);
    const loops = opened.then(() => Promise.all(iterators.map(async (messages) => {
      for await (const m of messages) onRecord(m.data);
    })));
    const failed = loops.then(() => new Promise<never>(() => undefined));
    failed.catch(() => undefined);
    return {
      ready,
      failed,
      close: async () => {
        closed = true;
        await ready.catch(() => undefined);
        await Promise.all(iterators.map((m) => m.close()));
        await Promise.race([loops.catch(() => undefined), timeout(SUBSCRIBE_READY_MS_MAX, 'consumers to close').catch(() => undefined)]);
      },
    };
  }

  async close(): Promise<void> {
    await this.#nc.drain();
  }
}
