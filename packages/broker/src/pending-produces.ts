import { RunnelError, type RunnelErrorOptions } from '@runnel/protocol';
import type { ProduceAck } from '@runnel/replication';
import {
  BROKER_PENDING_PRODUCE_BYTES_MAX, PARTITION_PENDING_PRODUCE_BYTES_MAX, PARTITION_PENDING_PRODUCES_MAX, PRODUCE_RETRY_AFTER_MS,
} from './constants.js';

/** What a produce gets back once its ack level is reached. */
export interface ProduceOutcome {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly leaderEpoch: number;
  readonly appendTimeMs: number;
}

interface Entry {
  readonly sizeBytes: number;
  readonly recordCount: number;
  readonly leaderEpoch: number;
  readonly appendTimeMs: number;
  readonly resolve: (outcome: ProduceOutcome) => void;
  readonly reject: (error: RunnelError) => void;
}

/**
 * Produce bytes pending over every partition one broker leads, bounded by `bytesMax`
 * (BROKER_PENDING_PRODUCE_BYTES_MAX, below the storage write queue's bound): many busy partitions
 * on one broker are refused with TOO_MANY_REQUESTS here instead of overflowing that queue, which
 * would fail an append and stop the replica.
 */
export class BrokerProduceBytes {
  bytes = 0;
  constructor(readonly bytesMax: number = BROKER_PENDING_PRODUCE_BYTES_MAX) {}
}

const perStore = new WeakMap<object, BrokerProduceBytes>();

/** The one BrokerProduceBytes of the broker owning `store` (its MetaStore: one per broker process or in-process broker). */
export function brokerProduceBytesFor(store: object): BrokerProduceBytes {
  let b = perStore.get(store);
  if (b === undefined) perStore.set(store, (b = new BrokerProduceBytes()));
  return b;
}

/**
 * Produces a leader replica accepted and has not answered yet, by the produce id handed to
 * `PartitionReplica.propose`, bounded in count and bytes. Settled by the core's acks.
 */
export class PendingProduces {
  readonly #entries = new Map<number, Entry>();
  #bytes = 0;
  #nextId = 1;

  constructor(private readonly broker: BrokerProduceBytes = new BrokerProduceBytes()) {}

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * TOO_MANY_REQUESTS (retriable, with a retry-after hint) when a batch of `sizeBytes` would not fit;
   * a batch always fits while nothing is pending, so a request up to the batch limit is never refused for good.
   */
  admit(sizeBytes: number, what: string): void {
    const full = this.#entries.size > 0 && this.#bytes + sizeBytes > PARTITION_PENDING_PRODUCE_BYTES_MAX;
    const brokerFull = this.broker.bytes > 0 && this.broker.bytes + sizeBytes > this.broker.bytesMax;
    if (brokerFull) {
      throw new RunnelError(
        'TOO_MANY_REQUESTS',
        `this broker has ${this.broker.bytes} bytes of produces waiting for acknowledgement over all its partitions (the most is ${this.broker.bytesMax}); nothing was written: retry after ${PRODUCE_RETRY_AFTER_MS} ms`,
        { retryAfterMs: PRODUCE_RETRY_AFTER_MS },
      );
    }
    if (full || this.#entries.size >= PARTITION_PENDING_PRODUCES_MAX) {
      throw new RunnelError(
        'TOO_MANY_REQUESTS',
        `${what} has ${this.#entries.size} produces (${this.#bytes} bytes, the most is ${PARTITION_PENDING_PRODUCE_BYTES_MAX}) waiting for acknowledgement; nothing was written: retry after ${PRODUCE_RETRY_AFTER_MS} ms`,
        { retryAfterMs: PRODUCE_RETRY_AFTER_MS },
      );
    }
  }

  /** A fresh produce id (never 0: 0 marks fire-and-forget produces nobody waits for). */
  nextId(): number {
    const id = this.#nextId;
    this.#nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    return id;
  }

  add(id: number, entry: Entry): void {
    this.#entries.set(id, entry);
    this.#bytes += entry.sizeBytes;
    this.broker.bytes += entry.sizeBytes;
  }

  /**
   * Settles the produce an ack names (unknown ids — fire-and-forget, already failed — are ignored).
   * Every produce here was appended, so a lost leadership is LEADERSHIP_LOST (may still commit), not
   * the NOT_LEADER `toError` builds for it (which means "refused before the append").
   */
  settle(ack: ProduceAck, toError: (code: 'NOT_LEADER' | 'TIMEOUT' | 'NOT_ENOUGH_REPLICAS') => RunnelError | Promise<RunnelError>): void {
    const entry = this.#take(ack.produceId);
    if (entry === undefined) return;
    if ('error' in ack) {
      const error = toError(ack.error);
      if (error instanceof RunnelError) entry.reject(afterAppend(error));
      else void error.then((e) => entry.reject(afterAppend(e)));
    }
    else entry.resolve({ baseOffset: ack.baseOffset, recordCount: entry.recordCount, leaderEpoch: entry.leaderEpoch, appendTimeMs: entry.appendTimeMs });
  }

  failAll(error: RunnelError): void {
    const failed = afterAppend(error);
    for (const id of [...this.#entries.keys()]) this.#take(id)?.reject(failed);
  }

  #take(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    this.#bytes -= entry.sizeBytes;
    this.broker.bytes -= entry.sizeBytes;
    return entry;
  }
}

/** The error for an appended produce: NOT_LEADER becomes LEADERSHIP_LOST (same leader hints); others pass. */
export function afterAppend(error: RunnelError): RunnelError {
  if (error.code !== 'NOT_LEADER') return error;
  const options: RunnelErrorOptions = { cause: error };
  if (error.leaderId !== undefined) options.leaderId = error.leaderId;
  if (error.leaderAddress !== undefined) options.leaderAddress = error.leaderAddress;
  return new RunnelError(
    'LEADERSHIP_LOST',
    `the batch was appended, then this broker lost the leadership before the ack level was reached: it may still commit (outcome unknown; a retry may write it twice). ${error.message}`,
    options,
  );
}
