import type { Logger } from 'pino';
import {
  RunnelError, TOPIC_MESSAGE_BYTES_DEFAULT, fromServiceError,
  type Acks as ProtoAcks, type ProduceRequest, type ProduceResponse__Output, type TopicInfo__Output,
} from '@runnel/protocol';
import { ClientClosedError, RetriesExhaustedError, leaderMoved } from './client-errors.js';
import type { ConnectionPool } from './connection-pool.js';
import { BATCH_RECORDS_MAX, PRODUCE_ANSWER_GRACE_MS, PRODUCE_TIMEOUT_MS_MAX } from './constants.js';
import type { MetadataCache } from './metadata-cache.js';
import type { Acks, ResolvedProducerOptions, ResolvedRetryOptions } from './options.js';
import { Partitioner } from './partitioner.js';
import { ProduceStream } from './produce-stream.js';
import { RecordAccumulator, type ClosedBatch } from './record-accumulator.js';
import { encodeProducerRecord } from './record-codec.js';
import type { ProducerRecord, RecordMetadata } from './record-types.js';
import { backoffMs, sleep } from './retry.js';

const PROTO_ACKS: Record<Acks, ProtoAcks> = {
  none: 'ACKS_NONE',
  leader: 'ACKS_LEADER',
  quorum: 'ACKS_QUORUM',
  all: 'ACKS_ALL',
};

/** One send() call waiting for every one of its records. */
interface SendTicket {
  readonly results: RecordMetadata[];
  remaining: number;
  settled: boolean;
  resolve(value: RecordMetadata[]): void;
  reject(err: RunnelError): void;
}

interface InFlightBatch extends ClosedBatch<SendTicket> {
  readonly request: ProduceRequest;
  /** Failed attempts so far (throttled ones not counted). */
  failures: number;
  lastAddress: string | undefined;
  /** When the broker first answered TOO_MANY_REQUESTS for this batch (or it first waited behind one), Date.now(). */
  throttledSinceMs: number | undefined;
  /** TOO_MANY_REQUESTS answers to this batch so far: its wait doubles with each. */
  throttles: number;
}

/**
 * A partition a broker refused with TOO_MANY_REQUESTS is muted (as Kafka's producer does): only the
 * refused batch (the probe) is sent again, after its wait; the partition's other batches wait here,
 * in order, until the probe gets any other answer. So a full broker sees one retry per muted
 * partition per wait, not every buffered batch again every 100 ms.
 */
interface MutedPartition {
  readonly probe: InFlightBatch;
  readonly queue: InFlightBatch[];
}

/**
 * A broker answering TOO_MANY_REQUESTS without a retry-after hint (ProduceStream errors carry none)
 * is asked again after this long, with up to half of it again as jitter.
 */
const THROTTLE_WAIT_MS_DEFAULT = 100;
/** A batch refused again waits twice as long as the last time, up to this (plus jitter). */
const THROTTLE_WAIT_MS_MAX = 2_000;

/** What the producer reports about pushing back (producer.stats()); counters since it was made. */
export interface ProducerStats {
  /** Bytes of records accepted by send() and not yet acknowledged or failed (at most bufferBytesMax). */
  readonly bufferedBytes: number;
  /** Records whose send() had to wait for room in the buffer, and the time they waited in all. */
  readonly bufferFullWaits: number;
  readonly bufferFullWaitMs: number;
  /** Produce requests a broker refused with TOO_MANY_REQUESTS (its bounds were full) and that were sent again, and the time they waited in all. */
  readonly throttledRequests: number;
  readonly throttleWaitMs: number;
}

export interface ProducerDeps {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  readonly retry: ResolvedRetryOptions;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly onClose: (p: Producer) => void;
}

/**
 * Batching, pipelined producer.
 *
 * Records are grouped per partition (lingerMs / batchBytesMax) and each batch is one
 * ProduceRequest on the ProduceStream of the partition leader's broker. send() resolves once
 * every record it passed is acknowledged at the producer's ack level, with each record's offset.
 *
 * Retries: retriable failures (NOT_LEADER, LEADERSHIP_LOST, PARTITION_OFFLINE, UNREACHABLE,
 * TIMEOUT, a broken stream, …) are retried up to retry.retriesMax times with exponential backoff
 * and full jitter, after a metadata refresh; a NOT_LEADER or LEADERSHIP_LOST naming a different
 * leader is retried there at once.
 * Then the batch fails with RetriesExhaustedError (code of the last error, which is its cause).
 * Non-retriable errors (UNKNOWN_TOPIC, RECORD_TOO_LARGE, …) fail at once.
 *
 * NOT IDEMPOTENT (yet): a retry after an unknown outcome (TIMEOUT, LEADERSHIP_LOST, a stream lost
 * after the request was written) can append the batch twice, and with several requests in flight a
 * retried batch can land after a later one of the same partition. A failed send() may also have
 * had some of its records (those in other batches) written.
 *
 * Bounds: records accepted but not yet acknowledged never exceed bufferBytesMax (send() waits
 * for room, except that a record always fits into an empty buffer); one open batch per
 * partition; inFlightRequestsMax requests per broker stream.
 *
 * Pushed back by a broker (TOO_MANY_REQUESTS: its pending-produce bounds are full), the partition is
 * muted: the refused batch waits the answer's retry-after hint (or THROTTLE_WAIT_MS_DEFAULT), doubled
 * with each refusal up to THROTTLE_WAIT_MS_MAX, plus up to 50% jitter, and is sent again, while the
 * partition's later batches wait behind it (see MutedPartition); such retries do not use up retriesMax, but a batch throttled for longer than requestTimeoutMs in all fails with
 * RetriesExhaustedError. Meanwhile the buffer fills and send() waits: the application slows down.
 * stats() reports both waits.
 */
export class Producer {
  private readonly options: ResolvedProducerOptions;
  private readonly deps: ProducerDeps;
  private readonly log: Logger;
  private readonly partitioner = new Partitioner();
  private readonly accumulator: RecordAccumulator<SendTicket>;
  private readonly streams = new Map<string, ProduceStream>();
  /** By partitionKey; at most one entry per partition with batches in the buffer. */
  private readonly muted = new Map<string, MutedPartition>();
  private bufferedBytes = 0;
  private bufferFullWaits = 0;
  private bufferFullWaitMs = 0;
  private throttledRequests = 0;
  private throttleWaitMs = 0;
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private closing = false;
  private closePromise: Promise<void> | undefined;

  constructor(options: ResolvedProducerOptions, deps: ProducerDeps) {
    this.options = options;
    this.deps = deps;
    this.log = deps.logger.child({ component: 'producer' });
    this.accumulator = new RecordAccumulator<SendTicket>(
      { lingerMs: options.lingerMs, batchBytesMax: options.batchBytesMax, batchRecordsMax: BATCH_RECORDS_MAX },
      (batch) => this.onBatchClosed(batch),
    );
  }

  /**
   * Sends records to `topic`. Resolves with one RecordMetadata per record, in the order given,
   * once all are acknowledged; rejects with a RunnelError (RetriesExhaustedError after retries).
   */
  async send(topic: string, records: ProducerRecord | ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closing || this.deps.signal.aborted) throw new ClientClosedError('producer');
    const list = Array.isArray(records) ? records : [records];
    if (list.length === 0) return [];
    const encoded = list.map((r) => encodeProducerRecord(r));
    const info = await this.topicInfo(topic);
    const messageBytesMax = info.config?.maxMessageBytes || TOPIC_MESSAGE_BYTES_DEFAULT;
    const partitionCount = info.partitions.length;
    for (const e of encoded) {
      if (e.payloadBytes > messageBytesMax) {
        throw new RunnelError('RECORD_TOO_LARGE', `a record of ${e.payloadBytes} bytes exceeds max_message_bytes ${messageBytesMax} of topic "${topic}"`);
      }
    }
    // Validate explicit partitions before accepting anything.
    for (const r of list) {
      if (r.partition !== undefined && r.partition >= partitionCount) {
        throw new RunnelError('UNKNOWN_PARTITION', `topic "${topic}" has no partition ${r.partition} (it has ${partitionCount})`);
      }
    }
    let ticket: SendTicket | undefined;
    const done = new Promise<RecordMetadata[]>((resolve, reject) => {
      ticket = { results: new Array<RecordMetadata>(list.length), remaining: list.length, settled: false, resolve, reject };
    });
    if (ticket === undefined) throw new Error('unreachable: promise executor runs synchronously');
    // If this call throws below after some records were accepted, `done` may still settle later.
    done.catch(() => undefined);
    const t = ticket;
    for (let i = 0; i < encoded.length; i++) {
      const e = encoded[i];
      const r = list[i];
      if (e === undefined || r === undefined) continue;
      if (this.bufferedBytes > 0 && this.bufferedBytes + e.sizeBytes > this.options.bufferBytesMax) {
        const waitStart = Date.now();
        this.bufferFullWaits++;
        while (this.bufferedBytes > 0 && this.bufferedBytes + e.sizeBytes > this.options.bufferBytesMax) {
          await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
          if (this.deps.signal.aborted) break;
        }
        this.bufferFullWaitMs += Date.now() - waitStart;
      }
      if (this.deps.signal.aborted) {
        this.settleError(t, new ClientClosedError('producer'));
        break;
      }
      if (t.settled) break;
      const partition = this.partitioner.choose(topic, partitionCount, { partition: r.partition, key: e.key });
      this.bufferedBytes += e.sizeBytes;
      this.accumulator.append(topic, partition, e.record, e.sizeBytes, t, i);
    }
    return done;
  }

  /** How much the producer has been pushed back so far (see ProducerStats). */
  stats(): ProducerStats {
    return {
      bufferedBytes: this.bufferedBytes,
      bufferFullWaits: this.bufferFullWaits,
      bufferFullWaitMs: this.bufferFullWaitMs,
      throttledRequests: this.throttledRequests,
      throttleWaitMs: this.throttleWaitMs,
    };
  }

  /** Sends every open batch now and waits until everything accepted so far is acked or failed. */
  async flush(): Promise<void> {
    this.accumulator.flushAll();
    if (this.bufferedBytes === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then closes the producer's streams. Later sends reject with ClientClosedError. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closing = true;
      await this.flush();
      for (const s of this.streams.values()) s.close();
      this.streams.clear();
      this.deps.onClose(this);
    })();
    return this.closePromise;
  }

  private async topicInfo(topic: string): Promise<TopicInfo__Output> {
    await this.deps.metadata.get();
    let info = this.deps.metadata.topic(topic);
    if (info === undefined) {
      await this.deps.metadata.refresh().catch((err: unknown) => {
        throw fromServiceError(err);
      });
      info = this.deps.metadata.topic(topic);
    }
    if (info === undefined) throw new RunnelError('UNKNOWN_TOPIC', `unknown topic "${topic}"`);
    return info;
  }

  private onBatchClosed(batch: ClosedBatch<SendTicket>): void {
    this.partitioner.batchClosed(batch.topic, batch.partition);
    const request: ProduceRequest = {
      topic: batch.topic,
      partition: batch.partition,
      records: batch.records,
      acks: PROTO_ACKS[this.options.acks],
      timeoutMs: Math.min(this.options.requestTimeoutMs, PRODUCE_TIMEOUT_MS_MAX),
    };
    this.dispatch({ ...batch, request, failures: 0, lastAddress: undefined, throttledSinceMs: undefined, throttles: 0 });
  }

  private stream(address: string): ProduceStream {
    let s = this.streams.get(address);
    if (s === undefined || s.dead) {
      s = new ProduceStream(
        this.deps.pool,
        address,
        { inFlightRequestsMax: this.options.inFlightRequestsMax, answerTimeoutMs: Math.min(this.options.requestTimeoutMs, PRODUCE_TIMEOUT_MS_MAX) + PRODUCE_ANSWER_GRACE_MS },
        this.log,
        (dead) => {
          if (this.streams.get(dead.address) === dead) this.streams.delete(dead.address);
        },
      );
      this.streams.set(address, s);
    }
    return s;
  }

  private dispatch(batch: InFlightBatch): void {
    if (this.deps.signal.aborted) {
      this.failBatch(batch, new ClientClosedError('producer'));
      return;
    }
    const muted = this.muted.get(partitionKey(batch));
    if (muted !== undefined && muted.probe !== batch) {
      batch.throttledSinceMs ??= Date.now();
      muted.queue.push(batch);
      return;
    }
    const leader = this.deps.metadata.leaderFor(batch.topic, batch.partition);
    if (leader instanceof RunnelError) {
      this.onBatchError(batch, leader);
      return;
    }
    batch.lastAddress = leader.address;
    let s: ProduceStream;
    try {
      s = this.stream(leader.address);
    } catch (err) {
      this.onBatchError(batch, fromServiceError(err));
      return;
    }
    s.send(batch.request, (err, response) => {
      if (err !== undefined) this.onBatchError(batch, err);
      else if (response !== undefined) this.ackBatch(batch, response);
    });
  }

  private onBatchError(batch: InFlightBatch, err: RunnelError): void {
    if (err instanceof ClientClosedError || this.deps.signal.aborted) {
      this.failBatch(batch, err instanceof ClientClosedError ? err : new ClientClosedError('producer'));
      return;
    }
    this.deps.metadata.noteError(batch.topic, batch.partition, err);
    if (!err.retriable) {
      this.failBatch(batch, err);
      return;
    }
    if (err.code === 'TOO_MANY_REQUESTS') {
      this.throttled(batch, err);
      return;
    }
    this.unmuteAfter(batch);
    if (batch.failures >= this.deps.retry.retriesMax) {
      this.failBatch(batch, new RetriesExhaustedError(err, batch.failures + 1));
      return;
    }
    const retry = batch.failures++;
    const log = this.log.child({ topic: batch.topic, partition: batch.partition });
    log.debug({ code: err.code, attempt: batch.failures, err: err.message }, 'produce failed; retrying');
    const hinted = leaderMoved(err) ? this.deps.metadata.leaderFor(batch.topic, batch.partition) : undefined;
    if (hinted !== undefined && !(hinted instanceof RunnelError) && hinted.address !== batch.lastAddress) {
      // The answer named another leader: go there now; refresh in the background.
      this.deps.metadata.refresh().catch(() => undefined);
      this.dispatch(batch);
      return;
    }
    const wait = sleep(backoffMs(retry, this.deps.retry), this.deps.signal, 'producer');
    const refresh = this.deps.metadata.refresh().catch(() => undefined);
    Promise.all([wait, refresh]).then(
      () => this.dispatch(batch),
      (e: unknown) => this.failBatch(batch, fromServiceError(e)),
    );
  }

  /**
   * The broker pushed back: mute the partition with this batch as its probe (or, if it is muted
   * already, queue this one behind the probe), wait the hint doubled per refusal of this batch, and
   * send the probe again (to the same leader: it did not move).
   */
  private throttled(batch: InFlightBatch, err: RunnelError): void {
    const now = Date.now();
    batch.throttledSinceMs ??= now;
    this.throttledRequests++;
    const key = partitionKey(batch);
    const muted = this.muted.get(key);
    if (muted === undefined) this.muted.set(key, { probe: batch, queue: [] });
    else if (muted.probe !== batch) {
      // Was already in flight when the partition was muted.
      muted.queue.push(batch);
      return;
    }
    if (now - batch.throttledSinceMs > this.options.requestTimeoutMs) {
      this.failBatch(batch, new RetriesExhaustedError(err, batch.failures + 1));
      return;
    }
    const base = Math.min((err.retryAfterMs ?? THROTTLE_WAIT_MS_DEFAULT) * 2 ** batch.throttles, THROTTLE_WAIT_MS_MAX);
    batch.throttles++;
    const waitMs = Math.round(base * (1 + Math.random() / 2));
    this.throttleWaitMs += waitMs;
    sleep(waitMs, this.deps.signal, 'producer').then(
      () => this.dispatch(batch),
      (e: unknown) => this.failBatch(batch, fromServiceError(e)),
    );
  }

  /** The probe of a muted partition got another answer than TOO_MANY_REQUESTS: send the batches that waited. */
  private unmuteAfter(batch: InFlightBatch): void {
    const key = partitionKey(batch);
    const muted = this.muted.get(key);
    if (muted?.probe !== batch) return;
    this.muted.delete(key);
    for (const b of muted.queue) this.dispatch(b);
  }

  private ackBatch(batch: InFlightBatch, response: ProduceResponse__Output): void {
    this.unmuteAfter(batch);
    const base = response.baseOffset;
    if (base >= 0 && response.recordCount !== batch.records.length) {
      this.log.warn({ topic: batch.topic, partition: batch.partition, sent: batch.records.length, acked: response.recordCount }, 'broker acknowledged a different record count');
    }
    for (let i = 0; i < batch.owners.length; i++) {
      const t = batch.owners[i];
      const index = batch.ownerIndexes[i];
      if (t === undefined || index === undefined || t.settled) continue;
      t.results[index] = { topic: batch.topic, partition: batch.partition, offset: base < 0 ? -1 : base + i };
      t.remaining--;
      if (t.remaining === 0) {
        t.settled = true;
        t.resolve(t.results);
      }
    }
    this.release(batch.sizeBytes);
  }

  private failBatch(batch: InFlightBatch, err: RunnelError): void {
    this.unmuteAfter(batch);
    for (const t of batch.owners) this.settleError(t, err);
    this.release(batch.sizeBytes);
  }

  private settleError(t: SendTicket, err: RunnelError): void {
    if (t.settled) return;
    t.settled = true;
    t.reject(err);
  }

  private release(bytes: number): void {
    this.bufferedBytes -= bytes;
    const waiters = this.roomWaiters.splice(0);
    for (const w of waiters) w();
    if (this.bufferedBytes === 0) {
      const idle = this.idleWaiters.splice(0);
      for (const w of idle) w();
    }
  }
}

const partitionKey = (b: { readonly topic: string; readonly partition: number }): string => `${b.partition}:${b.topic}`;
