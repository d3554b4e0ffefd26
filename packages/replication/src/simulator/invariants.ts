import { batchEnd, type ReplicaBatch } from '../messages.js';
import type { MemoryLogStorage } from '../memory-log.js';
import type { PartitionReplica } from '../partition-replica.js';

/** The first broken invariant of a run, with what is needed to replay it. */
export interface Violation {
  readonly seed: number;
  readonly step: number;
  readonly kind:
    | 'committed-changed'
    | 'committed-truncated'
    | 'lost-committed'
    | 'acked-lost'
    | 'ack-not-in-log'
    | 'two-leaders-advanced-hw'
    | 'hw-regressed'
    | 'hw-beyond-log'
    | 'consumer-beyond-hw'
    | 'consumer-saw-change'
    | 'assertion';
  readonly message: string;
}

/** Identity of the record at `offset` in `batch`: who wrote it and which produce (or control batch) it is. */
export function recordIdentity(batch: ReplicaBatch, offset: number): string {
  const who = batch.control ? 'ctl' : `p${payloadId(batch.payload)}`;
  return `e${batch.epoch}/${who}@${batch.baseOffset}+${offset - batch.baseOffset}`;
}

export function payloadId(payload: Uint8Array): number {
  if (payload.length < 4) return -1;
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);
}

/** Per replica process life, what the checker remembers. */
export interface ReplicaWatch {
  lastHw: number;
  checkedTo: number;
  leaderEpochChecked: number;
}

/**
 * The safety properties, checked after every simulation step (and on every truncation and ack):
 *  - a committed record (below some replica's HW, or QUORUM/ALL-acknowledged) is never changed,
 *    never truncated, and is in the log of every leader of a later epoch;
 *  - every replica's log below its HW equals every other's (one committed history);
 *  - in each epoch at most one replica advances an HW as leader;
 *  - a replica's HW never moves backwards while its process lives, and never exceeds its log;
 *  - consumers only see offsets below the HW of the replica serving them, and never see a record
 *    change.
 */
export class InvariantChecker {
  readonly #seed: number;
  #step = 0;
  /** offset -> identity and the epoch of the leader under which it was first seen committed. */
  readonly committed = new Map<number, { identity: string; epoch: number }>();
  readonly acked = new Map<number, { identity: string; epoch: number }>();
  readonly #hwAdvancer = new Map<number, number>();
  readonly #consumed = new Map<number, string>();
  /** Offsets below this were deleted by retention on some replica: intended, not lost. */
  #retainedFrom = 0;
  violation: Violation | undefined;

  constructor(seed: number) {
    this.#seed = seed;
  }

  setStep(step: number): void {
    this.#step = step;
  }

  fail(kind: Violation['kind'], message: string): void {
    if (this.violation === undefined) this.violation = { seed: this.#seed, step: this.#step, kind, message };
  }

  /** After every step, for every live replica. */
  checkReplica(id: number, core: PartitionReplica, log: MemoryLogStorage, watch: ReplicaWatch): void {
    const hw = core.highWatermark;
    if (hw < watch.lastHw) this.fail('hw-regressed', `replica ${id}: HW ${watch.lastHw} -> ${hw}`);
    if (hw > log.logEndOffset) this.fail('hw-beyond-log', `replica ${id}: HW ${hw} > log end ${log.logEndOffset}`);
    if (core.role === 'leader' && hw > watch.lastHw) {
      const prev = this.#hwAdvancer.get(core.epoch);
      if (prev !== undefined && prev !== id) {
        this.fail('two-leaders-advanced-hw', `epoch ${core.epoch}: replicas ${prev} and ${id} both advanced the HW as leader`);
      }
      this.#hwAdvancer.set(core.epoch, id);
    }
    if (core.role === 'leader' && watch.leaderEpochChecked !== core.epoch) {
      watch.leaderEpochChecked = core.epoch;
      this.#checkLeaderCompleteness(id, core.epoch, log);
    }
    if (hw > watch.checkedTo) {
      for (const b of log.read(watch.checkedTo, Number.MAX_SAFE_INTEGER, hw)) {
        for (let o = Math.max(b.baseOffset, watch.checkedTo); o < Math.min(batchEnd(b), hw); o++) {
          this.#commit(o, recordIdentity(b, o), core.epoch, `replica ${id} (HW ${hw})`);
        }
      }
      watch.checkedTo = hw;
    }
    watch.lastHw = hw;
  }

  #commit(offset: number, identity: string, epoch: number, where: string): void {
    const known = this.committed.get(offset);
    if (known === undefined) this.committed.set(offset, { identity, epoch });
    else if (known.identity !== identity) {
      this.fail('committed-changed', `offset ${offset}: committed ${known.identity}, but ${where} has ${identity}`);
    }
    const ack = this.acked.get(offset);
    if (ack !== undefined && ack.identity !== identity) {
      this.fail('acked-lost', `offset ${offset}: acknowledged ${ack.identity}, but ${where} committed ${identity}`);
    }
  }

  #checkLeaderCompleteness(id: number, epoch: number, log: MemoryLogStorage): void {
    for (const [what, map] of [['committed', this.committed], ['acknowledged', this.acked]] as const) {
      for (const [offset, c] of map) {
        if (c.epoch >= epoch) continue;
        // Retention may delete committed records: the leader must still have reached past them.
        if (offset < Math.max(log.logStart.offset, this.#retainedFrom) && log.logEndOffset > offset) continue;
        const b = log.batchAt(offset);
        const has = b === undefined ? 'nothing' : recordIdentity(b, offset);
        if (has !== c.identity) {
          this.fail(
            what === 'committed' ? 'lost-committed' : 'acked-lost',
            `leader ${id} of epoch ${epoch} lacks ${what} offset ${offset} (${c.identity}); has ${has}`,
          );
          return;
        }
      }
    }
  }

  /** A replica's retention moved its log start to `logStart`. */
  onRetention(logStart: number): void {
    this.#retainedFrom = Math.max(this.#retainedFrom, logStart);
  }

  /** Before a replica truncates its log to `offset`. */
  onTruncate(id: number, log: MemoryLogStorage, offset: number, watch: ReplicaWatch): void {
    for (const b of log.read(offset, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
      for (let o = Math.max(b.baseOffset, offset, this.#retainedFrom); o < batchEnd(b); o++) {
        const c = this.committed.get(o);
        if (c !== undefined && c.identity === recordIdentity(b, o)) {
          this.fail('committed-truncated', `replica ${id} truncates to ${offset}, dropping committed ${c.identity}`);
          return;
        }
      }
    }
    watch.checkedTo = Math.min(watch.checkedTo, offset);
  }

  /** A QUORUM or ALL acknowledgement left leader `id`. */
  onAck(id: number, epoch: number, log: MemoryLogStorage, produceId: number, baseOffset: number): void {
    // An ALL ack can come after retention deleted its (committed) batch: nothing left to compare.
    if (baseOffset < log.logStart.offset) return;
    const b = log.batchAt(baseOffset);
    if (b === undefined || b.baseOffset !== baseOffset || b.control || payloadId(b.payload) !== produceId) {
      this.fail('ack-not-in-log', `replica ${id} acknowledged produce ${produceId} at ${baseOffset} but its log differs`);
      return;
    }
    for (let o = baseOffset; o < batchEnd(b); o++) {
      const identity = recordIdentity(b, o);
      this.acked.set(o, { identity, epoch });
      const c = this.committed.get(o);
      if (c !== undefined && c.identity !== identity) {
        this.fail('acked-lost', `offset ${o}: acknowledged ${identity} but ${c.identity} is committed`);
      }
    }
  }

  /** A consumer was served `batches` by replica `id` whose HW was `hw`. */
  onConsume(id: number, hw: number, batches: readonly ReplicaBatch[]): void {
    for (const b of batches) {
      if (batchEnd(b) > hw) this.fail('consumer-beyond-hw', `replica ${id} served ${b.baseOffset}..${batchEnd(b)} with HW ${hw}`);
      for (let o = b.baseOffset; o < batchEnd(b); o++) {
        const identity = recordIdentity(b, o);
        const seen = this.#consumed.get(o);
        if (seen === undefined) this.#consumed.set(o, identity);
        else if (seen !== identity) this.fail('consumer-saw-change', `offset ${o}: consumed ${seen} earlier, now ${identity} from replica ${id}`);
      }
    }
  }
}
