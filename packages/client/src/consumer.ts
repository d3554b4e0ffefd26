import type { Logger } from 'pino';
import { RunnelError, fromServiceError } from '@runnel/protocol';
import type { ConnectionPool } from './connection-pool.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ResolvedConsumerOptions } from './options.js';
import { PartitionSubscription } from './partition-subscription.js';
import { RecordQueue, type QueueItem } from './record-queue.js';
import type { ConsumedRecord } from './record-types.js';

export interface ConsumerDeps {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly onClose: (c: Consumer) => void;
}


/**
 * Reads one topic (all or some partitions) from a start position, as an async iterator:
 *
 *   for await (const record of client.consumer({ topic, from: 'earliest' })) { … }
 *
 * One Subscribe stream per partition, to its leader; records of one partition come in offset
 * order, partitions interleave (batch by batch). Flow control is end to end: a partition never
 * has more than creditBytes / creditRecords granted or buffered (plus one batch the broker may
 * overdraw), and credit is given back only as records are taken from the iterator, so a slow
 * loop slows the broker rather than filling memory. Leader changes, lost connections and
 * OFFSET_NOT_AVAILABLE (a new leader that has not committed this far yet) are retried forever
 * (capped backoff) from the next offset; a non-retriable error
 * (OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC, UNKNOWN_PARTITION, …) is thrown by the iterator after the
 * records received before it, and closes the consumer. Iteration ends after close() (or when
 * the loop is left with break/return, which closes the consumer).
 */
export class Consumer implements AsyncIterable<ConsumedRecord> {
  private readonly options: ResolvedConsumerOptions;
  private readonly deps: ConsumerDeps;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly records = new RecordQueue();
  private readonly subscriptions: PartitionSubscription[] = [];
  private readonly tasks: Array<Promise<void>> = [];
  private iterating = false;
  private closePromise: Promise<void> | undefined;
  private readonly onParentAbort = (): void => {
    void this.close();
  };
  private readonly started: Promise<void>;

  constructor(options: ResolvedConsumerOptions, deps: ConsumerDeps) {
    this.options = options;
    this.deps = deps;
    this.log = deps.logger.child({ component: 'consumer', topic: options.topic });
    if (deps.signal.aborted) this.abort.abort();
    else deps.signal.addEventListener('abort', this.onParentAbort, { once: true });
    this.started = this.start().catch((err: unknown) => this.fail(fromServiceError(err)));
  }

  private async start(): Promise<void> {
    const { metadata } = this.deps;
    await metadata.get();
    let topic = metadata.topic(this.options.topic);
    if (topic === undefined) {
      await metadata.refresh();
      topic = metadata.topic(this.options.topic);
    }
    if (topic === undefined) throw new RunnelError('UNKNOWN_TOPIC', `unknown topic "${this.options.topic}"`);
    if (this.abort.signal.aborted) return;
    const known = new Set(topic.partitions.map((p) => p.partition));
    const partitions = this.options.partitions ?? [...known].sort((a, b) => a - b);
    for (const p of partitions) {
      if (!known.has(p)) throw new RunnelError('UNKNOWN_PARTITION', `topic "${this.options.topic}" has no partition ${p} (it has ${known.size})`);
    }
    for (const p of partitions) {
      const sub = new PartitionSubscription(this.options.topic, p, this.options.from, this.options.creditBytes, this.options.creditRecords, {
        pool: this.deps.pool,
        metadata,
        signal: this.abort.signal,
        logger: this.deps.logger,
        deliver: (entry) => this.push(entry),
        fail: (err) => this.fail(err),
      });
      this.subscriptions.push(sub);
      this.tasks.push(sub.run().catch((err: unknown) => this.fail(fromServiceError(err))));
    }
    this.log.debug({ partitions }, 'consumer started');
  }

  /** Next offset to be returned, per partition (only partitions whose start is resolved). */
  positions(): Map<number, number> {
    const out = new Map<number, number>();
    for (const s of this.subscriptions) {
      if (s.position !== undefined) out.set(s.partition, s.position);
    }
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    if (this.iterating) throw new Error('a Consumer can be iterated only once; create another consumer');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private push(item: QueueItem): void {
    if (this.abort.signal.aborted && !('error' in item)) return;
    this.records.push(item);
  }

  private fail(err: RunnelError): void {
    if (this.abort.signal.aborted) return;
    this.log.debug({ code: err.code, err: err.message }, 'consumer failed');
    this.push({ error: err });
    this.stopSubscriptions();
  }

  private stopSubscriptions(): void {
    if (!this.abort.signal.aborted) this.abort.abort();
    for (const s of this.subscriptions) s.cancel();
  }

  private async next(): Promise<IteratorResult<ConsumedRecord>> {
    const taken = await this.records.take({
      live: (sub) => ({ topic: this.options.topic, partition: sub.partition }),
      closed: () => this.closePromise !== undefined,
      ended: () => this.abort.signal.aborted,
    });
    if (taken === undefined) return { done: true, value: undefined };
    if ('error' in taken) {
      await this.close();
      throw taken.error;
    }
    return { done: false, value: taken.record };
  }

  /** Stops every subscription; the iterator then ends (a pending next() resolves done). */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.deps.signal.removeEventListener('abort', this.onParentAbort);
      this.stopSubscriptions();
      this.records.interrupt();
      await this.started;
      await Promise.all(this.tasks);
      this.records.clear();
      this.deps.onClose(this);
    })();
    return this.closePromise;
  }
}
