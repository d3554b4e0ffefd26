import { RunnelError } from '@runnel/protocol';
import type { ProduceAck } from '@runnel/replication';
import { PARTITION_PENDING_PRODUCE_BYTES_MAX, PARTITION_PENDING_PRODUCES_MAX } from './constants.js';

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
 * Produces a leader replica accepted and has not answered yet, by the produce id handed to
 * `PartitionReplica.propose`, bounded in count and bytes. Settled by the core's acks.
 */
export class PendingProduces {
  readonly #entries = new Map<number, Entry>();
  #bytes = 0;
  #nextId = 1;

  get size(): number {
    return this.#entries.size;
  }

  /** TOO_MANY_REQUESTS when a batch of `sizeBytes` would not fit. */
  admit(sizeBytes: number, what: string): void {
    if (this.#bytes + sizeBytes > PARTITION_PENDING_PRODUCE_BYTES_MAX || this.#entries.size >= PARTITION_PENDING_PRODUCES_MAX) {
      throw new RunnelError('TOO_MANY_REQUESTS', `${what} has ${this.#entries.size} produces (${this.#bytes} bytes) waiting for acknowledgement; back off and retry`);
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
  }

  /** Settles the produce an ack names (unknown ids — fire-and-forget, already failed — are ignored). */
  settle(ack: ProduceAck, toError: (code: 'NOT_LEADER' | 'TIMEOUT' | 'NOT_ENOUGH_REPLICAS') => RunnelError | Promise<RunnelError>): void {
    const entry = this.#take(ack.produceId);
    if (entry === undefined) return;
    if ('error' in ack) {
      const error = toError(ack.error);
      if (error instanceof RunnelError) entry.reject(error);
      else void error.then(entry.reject);
    }
    else entry.resolve({ baseOffset: ack.baseOffset, recordCount: entry.recordCount, leaderEpoch: entry.leaderEpoch, appendTimeMs: entry.appendTimeMs });
  }

  failAll(error: RunnelError): void {
    for (const id of [...this.#entries.keys()]) this.#take(id)?.reject(error);
  }

  #take(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    this.#bytes -= entry.sizeBytes;
    return entry;
  }
}
