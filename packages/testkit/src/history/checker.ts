/**
 * Checks a recorded history (see history-types.ts) against the guarantees of a replicated,
 * partitioned log. Pure: no I/O, no clock, no randomness; the same input gives the same anomalies in
 * the same order.
 *
 * Conventions the recorder must follow:
 * - `history` is in the order the events happened. Every "before/after" (real-time order, hold
 *   intervals, commit order, reads invoked after an ack) uses the index in `history`; `time` is only
 *   copied into reports, so equal millisecond timestamps are harmless.
 * - A completion is paired with the latest pending invoke of the same `process`; a produce is also
 *   identified by its value, which must be unique (a second produce invoke of a value throws).
 * - A produce invoke without a completion is treated like `info` (unknown).
 * - One `session` is one subscription from one start position: its `ok` read completions, in history
 *   order, are concatenated and must strictly increase and skip nothing. A subscription that is
 *   re-opened from another position (seek, rebalance, resubscribe from a committed offset) must use a
 *   new session id, or its re-deliveries are reported as reordered reads.
 * - `finalLogs` must hold every partition that a produce or read in the history names (an empty
 *   partition is an empty array); a missing one throws rather than being silently unchecked.
 *
 * Reporting choices:
 * - A value whose produce failed, that was never produced, or that was produced to another partition,
 *   and that appears in a read or the final log, is a `phantom-read` with `details.reason` =
 *   'failed-produce' | 'never-produced' | 'other-partition' and `details.inFinalLog`.
 * - An acknowledged value found in the final log only at another offset is a `divergent-offset` with
 *   `details.ackOffset` and `details.finalOffsets` (not a lost write).
 * - One fault can show as anomalies of several kinds (a truncated read is an `uncommitted-read` and,
 *   when the offset was reused, a `divergent-offset`); each anomaly states one observed fact.
 * - `valid` is false when there is any anomaly other than a `duplicate` explained by a retry.
 */
import type {
  Anomaly,
  AnomalyKind,
  CheckInput,
  CheckResult,
  Completion,
  HistoryEvent,
  PartitionLog,
} from './history-types.js';

/** Most events, offsets or values listed in one anomaly's details; the rest are only counted. */
export const DETAIL_ITEMS_MAX = 20;

/** The order anomalies are reported in (then by partition, then by offset or event). */
export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'lost-write',
  'divergent-offset',
  'value-at-two-offsets',
  'skipped-record',
  'reordered-read',
  'phantom-read',
  'uncommitted-read',
  'duplicate',
  'double-hold',
  'non-monotonic-commit',
  'real-time-order',
  'stale-read',
  'replica-divergence',
  'under-replicated-ack',
];

/** Session name used when the final log itself is out of order. */
export const FINAL_LOG_SESSION = '<final-log>';

/** Whether an anomaly makes a history invalid (everything but a duplicate a retry explains). */
export function isViolation(anomaly: Anomaly): boolean {
  return !(anomaly.kind === 'duplicate' && anomaly.details['explainedByRetry'] === true);
}

/** Where one (offset, value) pair of a partition was seen. */
interface Sighting {
  readonly offset: number;
  readonly value: string;
  final: boolean;
  /** Index of the produce completion that acknowledged it. */
  ackIndex: number | undefined;
  /** Indexes of the first DETAIL_ITEMS_MAX read completions that returned it. */
  readIndexes: number[] | undefined;
  readCount: number;
}

/** An acknowledged produce: its offset, value and the index of its completion. */
interface Ack {
  readonly offset: number;
  readonly value: string;
  readonly index: number;
}

interface PartitionState {
  /** offset -> the values seen there (almost always one). */
  readonly byOffset: Map<number, Sighting[]>;
  /** value -> the offsets it was seen at (almost always one). */
  readonly byValue: Map<string, Sighting[]>;
  readonly acks: Ack[];
  /** The highest acknowledged offset so far, while walking the history. */
  maxAck: Ack | undefined;
}

interface ProduceState {
  readonly partition: number;
  invokeIndex: number | undefined;
  completionIndex: number | undefined;
  type: Completion | undefined;
  offset: number | undefined;
  attempts: number | undefined;
  error: string | undefined;
  /** The highest offset acknowledged in the partition before this produce was invoked. */
  floor: Ack | undefined;
}

interface ReadRef {
  readonly index: number;
  readonly invokeIndex: number | undefined;
  readonly partition: number;
  readonly session: string;
  readonly records: ReadonlyArray<readonly [number, string]>;
}

interface Holder {
  readonly member: string;
  readonly index: number;
}

interface CommitRef {
  readonly offset: number;
  readonly member: string;
  readonly index: number;
}

export function checkHistory(input: CheckInput): CheckResult {
  return new Checker(input).run();
}

class Checker {
  private readonly history: readonly HistoryEvent[];
  private readonly anomalies: Anomaly[] = [];
  private readonly partitions = new Map<number, PartitionState>();
  private readonly produces = new Map<string, ProduceState>();
  private readonly reads: ReadRef[] = [];
  private readonly stats = { produceOk: 0, produceFail: 0, produceInfo: 0, reads: 0, recordsRead: 0 };

  constructor(private readonly input: CheckInput) {
    this.history = input.history;
  }

  run(): CheckResult {
    this.walkHistory();
    this.addFinalLogs();
    for (const p of sortedKeys(this.partitions)) {
      const state = this.partitionState(p);
      this.checkOffsets(p, state);
      this.checkValues(p, state);
    }
    this.checkLostWrites();
    this.checkSessions();
    this.checkStaleReads();
    this.checkReplicas();

    const rank = new Map(ANOMALY_KINDS.map((kind, i) => [kind, i]));
    const anomalies = this.anomalies
      .map((anomaly, i) => ({ anomaly, i }))
      .sort((a, b) =>
        (rank.get(a.anomaly.kind) ?? 0) - (rank.get(b.anomaly.kind) ?? 0)
        || a.anomaly.partition - b.anomaly.partition
        || a.i - b.i)
      .map((x) => x.anomaly);
    return { valid: !anomalies.some(isViolation), anomalies, stats: { ...this.stats } };
  }

  // ---- collecting ----

  /** One pass in history order: pairs operations, collects sightings, checks order-dependent rules. */
  private walkHistory(): void {
    const pending = new Map<number, number>();
    const holders = new Map<string, Holder[]>();
    const commits = new Map<string, CommitRef>();

    for (let i = 0; i < this.history.length; i++) {
      const e = this.history[i];
      if (e === undefined) continue;
      switch (e.f) {
        case 'produce': {
          if (e.type === 'invoke') {
            const known = this.produces.get(e.value);
            if (known?.invokeIndex !== undefined) {
              throw new Error(`checkHistory: value ${JSON.stringify(e.value)} is produced twice (events #${known.invokeIndex} and #${i}); produced values must be unique`);
            }
            pending.set(e.process, i);
            this.produces.set(e.value, {
              partition: e.partition, invokeIndex: i, completionIndex: undefined, type: undefined,
              offset: undefined, attempts: undefined, error: undefined, floor: this.partitionState(e.partition).maxAck,
            });
            break;
          }
          pending.delete(e.process);
          let produce = this.produces.get(e.value);
          if (produce === undefined) {
            produce = {
              partition: e.partition, invokeIndex: undefined, completionIndex: undefined, type: undefined,
              offset: undefined, attempts: undefined, error: undefined, floor: undefined,
            };
            this.produces.set(e.value, produce);
          }
          produce.completionIndex = i;
          produce.type = e.type;
          produce.attempts = e.attempts;
          produce.error = e.error;
          if (e.type === 'fail') this.stats.produceFail++;
          if (e.type === 'info') this.stats.produceInfo++;
          if (e.type !== 'ok') break;
          this.stats.produceOk++;
          if (e.offset === undefined) break;
          produce.offset = e.offset;
          const state = this.partitionState(e.partition);
          this.sighting(state, e.offset, e.value).ackIndex = i;
          const ack: Ack = { offset: e.offset, value: e.value, index: i };
          state.acks.push(ack);
          const floor = produce.floor;
          if (floor !== undefined && e.offset < floor.offset) this.realTimeOrder(e.partition, floor, ack, produce);
          if (state.maxAck === undefined || e.offset > state.maxAck.offset) state.maxAck = ack;
          break;
        }
        case 'read': {
          if (e.type === 'invoke') {
            pending.set(e.process, i);
            break;
          }
          const invokeIndex = pending.get(e.process);
          const invoke = invokeIndex === undefined ? undefined : this.history[invokeIndex];
          pending.delete(e.process);
          this.stats.reads++;
          if (e.type !== 'ok' || e.records === undefined) break;
          this.stats.recordsRead += e.records.length;
          const state = this.partitionState(e.partition);
          for (const [offset, value] of e.records) {
            const s = this.sighting(state, offset, value);
            s.readCount++;
            if (s.readIndexes === undefined) s.readIndexes = [i];
            else if (s.readIndexes.length < DETAIL_ITEMS_MAX) s.readIndexes.push(i);
          }
          this.reads.push({
            index: i,
            invokeIndex: invoke?.f === 'read' ? invokeIndex : undefined,
            partition: e.partition,
            session: e.session,
            records: e.records,
          });
          break;
        }
        case 'acquire': {
          const key = groupKey(e.group, e.partition);
          const list = holders.get(key) ?? [];
          for (const held of list) {
            if (held.member !== e.member) this.doubleHold(e.group, e.partition, held, { member: e.member, index: i });
          }
          if (!list.some((h) => h.member === e.member)) list.push({ member: e.member, index: i });
          holders.set(key, list);
          break;
        }
        case 'release': {
          const key = groupKey(e.group, e.partition);
          const list = holders.get(key);
          if (list !== undefined) holders.set(key, list.filter((h) => h.member !== e.member));
          break;
        }
        case 'commit': {
          if (e.type !== 'ok') break;
          const key = groupKey(e.group, e.partition);
          const best = commits.get(key);
          if (best !== undefined && e.offset < best.offset) {
            this.nonMonotonicCommit(e.group, e.partition, best, { offset: e.offset, member: e.member, index: i });
          } else if (best === undefined || e.offset > best.offset) {
            commits.set(key, { offset: e.offset, member: e.member, index: i });
          }
          break;
        }
        case 'nemesis':
          break;
      }
    }
  }

  private addFinalLogs(): void {
    for (const p of this.partitions.keys()) {
      if (!this.input.finalLogs.has(p)) {
        throw new Error(`checkHistory: finalLogs has no entry for partition ${p}, which the history uses; give every partition's final read (an empty partition is an empty array)`);
      }
    }
    for (const p of sortedKeys(this.input.finalLogs)) {
      const log = this.input.finalLogs.get(p) ?? [];
      const state = this.partitionState(p);
      let previous: readonly [number, string] | undefined;
      for (const record of log) {
        const [offset, value] = record;
        this.sighting(state, offset, value).final = true;
        if (previous !== undefined && offset <= previous[0]) {
          this.add('reordered-read', p,
            `the final log of partition ${p} has offset ${offset} after offset ${previous[0]}; offsets must strictly increase`,
            { session: FINAL_LOG_SESSION, previous: { offset: previous[0], value: previous[1] }, next: { offset, value } });
        }
        previous = record;
      }
    }
  }

  // ---- per partition ----

  /** divergent-offset: two values at one offset (acks, reads, final log); uncommitted-read. */
  private checkOffsets(p: number, state: PartitionState): void {
    for (const offset of sortedKeys(state.byOffset)) {
      const values = state.byOffset.get(offset) ?? [];
      if (values.length > 1) {
        const seen = values.map((s) => ({ value: s.value, ...this.describeSighting(s) }));
        this.add('divergent-offset', p,
          `offset ${offset} of partition ${p} was seen with ${values.length} different values: ${seen.map((v) => `${q(v.value)} (${v.seenBy})`).join(', ')}`,
          { offset, values: seen.map(({ seenBy: _unused, ...rest }) => rest) });
      }
      for (const s of values) {
        if (s.readCount === 0 || s.final) continue;
        const finalValue = values.find((x) => x.final)?.value;
        const there = finalValue === undefined ? 'nothing' : q(finalValue);
        this.add('uncommitted-read', p,
          `${s.readCount} read(s) returned ${q(s.value)} at offset ${offset} of partition ${p}, but the final log has ${there} there: the record was read and later truncated`,
          { offset, value: s.value, finalValue: finalValue ?? null, readCount: s.readCount, reads: this.refs(s.readIndexes) });
      }
    }
  }

  /** phantom-read, duplicate, value-at-two-offsets and the ack-moved divergent-offset. */
  private checkValues(p: number, state: PartitionState): void {
    for (const [value, sightings] of state.byValue) {
      const produce = this.produces.get(value);
      const normal = produce !== undefined && produce.partition === p && produce.type !== 'fail';
      // Fast path: a value seen at one offset, produced here and not refused, has nothing to report.
      if (normal && sightings.length === 1) continue;
      const sorted = [...sightings].sort((x, y) => x.offset - y.offset);
      const finalOffsets = sorted.filter((s) => s.final).map((s) => s.offset);
      const readOffsets = sorted.filter((s) => s.readCount > 0).map((s) => s.offset);

      if (!normal && (finalOffsets.length > 0 || readOffsets.length > 0)) {
        const reason = produce === undefined ? 'never-produced'
          : produce.partition !== p ? 'other-partition' : 'failed-produce';
        this.phantom(p, value, reason, produce, finalOffsets, readOffsets, sorted);
      }

      if (finalOffsets.length > 1) {
        const retried = produce !== undefined && produce.partition === p
          && (produce.type === 'info' || produce.type === undefined || (produce.attempts ?? 1) > 1);
        const why = retried
          ? (produce.type === 'ok' ? `explained by a client retry (${produce.attempts ?? 1} attempts)` : 'explained by a produce of unknown outcome that may have been retried')
          : 'not explained by a retry';
        this.add('duplicate', p,
          `value ${q(value)} is ${finalOffsets.length} times in the final log of partition ${p} (offsets ${finalOffsets.join(', ')}); ${why}`,
          {
            value, offsets: finalOffsets, explainedByRetry: retried,
            produceType: produce?.type ?? null, attempts: produce?.attempts ?? null,
            produce: produce?.completionIndex === undefined ? null : this.ref(produce.completionIndex),
          });
      }

      const ackOffset = produce !== undefined && produce.partition === p && produce.type === 'ok' ? produce.offset : undefined;
      const moved = ackOffset !== undefined && finalOffsets.length > 0 && !finalOffsets.includes(ackOffset);
      if (moved && produce?.completionIndex !== undefined) {
        this.add('divergent-offset', p,
          `value ${q(value)} was acknowledged at offset ${ackOffset} of partition ${p} but the final log has it at offset ${finalOffsets.join(', ')}`,
          { value, ackOffset, finalOffsets, ack: this.ref(produce.completionIndex) });
      }

      if (sorted.length > 1 && sorted.some((s) => !s.final && !(moved && s.offset === ackOffset))) {
        const seen = sorted.map((s) => ({ offset: s.offset, ...this.describeSighting(s) }));
        this.add('value-at-two-offsets', p,
          `value ${q(value)} was seen at ${sorted.length} offsets of partition ${p}: ${seen.map((x) => `${x.offset} (${x.seenBy})`).join(', ')}`,
          { value, offsets: seen.map(({ seenBy: _unused, ...rest }) => rest) });
      }
    }
  }

  /** lost-write: an acknowledged value that the final log of its partition does not have. */
  private checkLostWrites(): void {
    for (const [value, produce] of this.produces) {
      if (produce.type !== 'ok' || produce.completionIndex === undefined) continue;
      const state = this.partitions.get(produce.partition);
      if (state?.byValue.get(value)?.some((s) => s.final) === true) continue;
      const at = produce.offset === undefined ? '' : ` at offset ${produce.offset}`;
      const finalValue = produce.offset === undefined ? undefined
        : state?.byOffset.get(produce.offset)?.find((s) => s.final)?.value;
      this.add('lost-write', produce.partition,
        `value ${q(value)} was acknowledged${at} of partition ${produce.partition} but is not in the final log${finalValue === undefined ? '' : ` (which has ${q(finalValue)} there)`}`,
        { value, offset: produce.offset ?? null, finalValue: finalValue ?? null, ack: this.ref(produce.completionIndex) });
    }
  }

  // ---- sessions ----

  /** reordered-read and skipped-record within each session, across its read completions. */
  private checkSessions(): void {
    const known = new Map<number, number[]>();
    const knownOffsets = (p: number): number[] => {
      let list = known.get(p);
      if (list === undefined) {
        const state = this.partitions.get(p);
        list = state === undefined ? [] : sortedKeys(state.byOffset).filter((o) =>
          state.byOffset.get(o)?.some((s) => s.final || s.readCount > 0) === true);
        known.set(p, list);
      }
      return list;
    };

    const last = new Map<string, { offset: number; value: string; index: number }>();
    for (const read of this.reads) {
      const key = `${read.partition}\u0000${read.session}`;
      let previous = last.get(key);
      for (const [offset, value] of read.records) {
        if (previous === undefined) {
          previous = { offset, value, index: read.index };
          last.set(key, previous);
          continue;
        }
        if (offset <= previous.offset) {
          this.add('reordered-read', read.partition,
            `session ${q(read.session)} on partition ${read.partition} received offset ${offset} after offset ${previous.offset}; offsets must strictly increase`,
            {
              session: read.session,
              previous: { offset: previous.offset, value: previous.value, read: this.ref(previous.index) },
              next: { offset, value, read: this.ref(read.index) },
            });
        } else if (offset > previous.offset + 1) {
          this.checkSkip(read, previous, offset, value, knownOffsets(read.partition));
        }
        previous.offset = offset;
        previous.value = value;
        previous.index = read.index;
      }
    }
  }

  /** Reports the known records strictly between two consecutive offsets a session received. */
  private checkSkip(
    read: ReadRef, previous: { readonly offset: number; readonly value: string; readonly index: number },
    offset: number, value: string, known: readonly number[],
  ): void {
    const from = lowerBound(known, previous.offset + 1);
    const to = lowerBound(known, offset);
    if (to <= from) return;
    const byOffset = this.partitions.get(read.partition)?.byOffset;
    const missed = known.slice(from, Math.min(to, from + DETAIL_ITEMS_MAX)).map((o) => ({
      offset: o,
      values: (byOffset?.get(o) ?? []).filter((s) => s.final || s.readCount > 0).map((s) => s.value),
    }));
    this.add('skipped-record', read.partition,
      `session ${q(read.session)} on partition ${read.partition} received offset ${previous.offset} then ${offset}, skipping ${to - from} record(s) in between (offsets ${missed.map((m) => m.offset).join(', ')}${to - from > missed.length ? ', …' : ''}) that the final log or other reads have`,
      {
        session: read.session,
        previous: { offset: previous.offset, value: previous.value, read: this.ref(previous.index) },
        next: { offset, value, read: this.ref(read.index) },
        missedCount: to - from, missed,
      });
  }

  /** stale-read: a read invoked after an ack, spanning its offset, that lacks the acked value there. */
  private checkStaleReads(): void {
    const acksByPartition = new Map<number, Ack[]>();
    for (const [p, state] of this.partitions) {
      acksByPartition.set(p, [...state.acks].sort((a, b) => a.offset - b.offset || a.index - b.index));
    }
    for (const read of this.reads) {
      if (read.invokeIndex === undefined || read.records.length === 0) continue;
      const acks = acksByPartition.get(read.partition) ?? [];
      let min = Infinity;
      let max = -Infinity;
      for (const [offset] of read.records) {
        if (offset < min) min = offset;
        if (offset > max) max = offset;
      }
      let got: Map<number, string[]> | undefined;
      const missing: { offset: number; value: string; got: string[]; ack: Record<string, unknown> }[] = [];
      let missingCount = 0;
      for (let k = lowerBoundBy(acks, min, (a) => a.offset); k < acks.length; k++) {
        const ack = acks[k];
        if (ack === undefined || ack.offset > max) break;
        if (ack.index > read.invokeIndex) continue;
        got ??= groupRecords(read.records);
        const there = got.get(ack.offset) ?? [];
        if (there.includes(ack.value)) continue;
        missingCount++;
        if (missing.length < DETAIL_ITEMS_MAX) missing.push({ offset: ack.offset, value: ack.value, got: there, ack: this.ref(ack.index) });
      }
      if (missingCount === 0) continue;
      const first = missing[0];
      const example = first === undefined ? ''
        : `: ${q(first.value)} was acknowledged at offset ${first.offset} (event #${String(first.ack['index'])}) but the read has ${first.got.length === 0 ? 'nothing' : first.got.map(q).join(', ')} there`;
      this.add('stale-read', read.partition,
        `a read of session ${q(read.session)} on partition ${read.partition}, invoked at event #${read.invokeIndex} and spanning offsets ${min}..${max}, misses ${missingCount} record(s) acknowledged before it was invoked${example}`,
        { session: read.session, invoke: this.ref(read.invokeIndex), read: this.ref(read.index), first: min, last: max, missingCount, missing });
    }
  }

  // ---- replicas ----

  /** replica-divergence and under-replicated-ack, from the replicas' committed prefixes. */
  private checkReplicas(): void {
    const replicas = this.input.replicas;
    if (replicas === undefined) return;
    const byPartition = new Map<number, Map<number, Map<string, number[]>>>();
    const nodesByPartition = new Map<number, Set<number>>();
    for (const replica of replicas) {
      let offsets = byPartition.get(replica.partition);
      if (offsets === undefined) byPartition.set(replica.partition, offsets = new Map());
      let nodes = nodesByPartition.get(replica.partition);
      if (nodes === undefined) nodesByPartition.set(replica.partition, nodes = new Set());
      nodes.add(replica.node);
      for (const [offset, value] of replica.records) {
        let values = offsets.get(offset);
        if (values === undefined) offsets.set(offset, values = new Map());
        const holders = values.get(value) ?? [];
        if (!holders.includes(replica.node)) holders.push(replica.node);
        values.set(value, holders);
      }
    }

    for (const p of sortedKeys(byPartition)) {
      const offsets = byPartition.get(p) ?? new Map<number, Map<string, number[]>>();
      for (const offset of sortedKeys(offsets)) {
        const values = offsets.get(offset);
        if (values === undefined || values.size < 2) continue;
        const byNode = [...values].flatMap(([value, nodes]) => nodes.map((node) => ({ node, value })))
          .sort((a, b) => a.node - b.node);
        this.add('replica-divergence', p,
          `replicas disagree at committed offset ${offset} of partition ${p}: ${byNode.map((x) => `node ${x.node} has ${q(x.value)}`).join(', ')}`,
          { offset, replicas: byNode });
      }
    }

    const factor = this.input.replicationFactor;
    if (factor === undefined) return;
    const quorum = Math.floor(factor / 2) + 1;
    for (const p of sortedKeys(this.partitions)) {
      const state = this.partitionState(p);
      const acks = [...state.acks].sort((a, b) => a.offset - b.offset || a.index - b.index);
      for (const ack of acks) {
        const nodes = byPartition.get(p)?.get(ack.offset)?.get(ack.value) ?? [];
        if (nodes.length >= quorum) continue;
        this.add('under-replicated-ack', p,
          `value ${q(ack.value)} acknowledged at offset ${ack.offset} of partition ${p} is in the committed prefix of ${nodes.length} replica(s), fewer than a quorum of ${quorum} (replication factor ${factor})`,
          {
            value: ack.value, offset: ack.offset, nodes: [...nodes].sort(byNumber), quorum, replicationFactor: factor,
            replicasRead: [...(nodesByPartition.get(p) ?? [])].sort(byNumber), ack: this.ref(ack.index),
          });
      }
    }
  }

  // ---- reporting ----

  private realTimeOrder(p: number, earlier: Ack, later: Ack, produce: ProduceState): void {
    this.add('real-time-order', p,
      `produce ${q(later.value)} was invoked after ${q(earlier.value)} was acknowledged at offset ${earlier.offset} of partition ${p}, yet was acknowledged at the lower offset ${later.offset}`,
      {
        earlier: { value: earlier.value, offset: earlier.offset, ack: this.ref(earlier.index) },
        later: {
          value: later.value, offset: later.offset, ack: this.ref(later.index),
          invoke: produce.invokeIndex === undefined ? null : this.ref(produce.invokeIndex),
        },
      });
  }

  private doubleHold(group: string, partition: number, held: Holder, acquired: Holder): void {
    this.add('double-hold', partition,
      `members ${q(held.member)} and ${q(acquired.member)} of group ${q(group)} both held partition ${partition}: ${q(acquired.member)} acquired it (event #${acquired.index}) while ${q(held.member)} still held it since event #${held.index}`,
      {
        group,
        holding: { member: held.member, acquire: this.ref(held.index) },
        acquiring: { member: acquired.member, acquire: this.ref(acquired.index) },
      });
  }

  private nonMonotonicCommit(group: string, partition: number, best: CommitRef, next: CommitRef): void {
    this.add('non-monotonic-commit', partition,
      `group ${q(group)} committed offset ${next.offset} for partition ${partition} (member ${q(next.member)}, event #${next.index}) after having committed ${best.offset} (member ${q(best.member)}, event #${best.index})`,
      {
        group,
        earlier: { offset: best.offset, member: best.member, commit: this.ref(best.index) },
        later: { offset: next.offset, member: next.member, commit: this.ref(next.index) },
      });
  }

  private phantom(
    p: number, value: string, reason: 'never-produced' | 'other-partition' | 'failed-produce',
    produce: ProduceState | undefined, finalOffsets: number[], readOffsets: number[], sightings: readonly Sighting[],
  ): void {
    const where = [
      readOffsets.length > 0 ? `read at offset ${readOffsets.join(', ')}` : '',
      finalOffsets.length > 0 ? `in the final log at offset ${finalOffsets.join(', ')}` : '',
    ].filter((x) => x !== '').join(' and ');
    const what = reason === 'never-produced' ? 'was never produced'
      : reason === 'other-partition' ? `was produced to partition ${produce?.partition ?? '?'}`
        : `was refused (produce failed${produce?.error === undefined ? '' : ` with ${produce.error}`}), so must not exist`;
    const reads = sightings.flatMap((s) => s.readIndexes ?? []).slice(0, DETAIL_ITEMS_MAX);
    this.add('phantom-read', p,
      `value ${q(value)} ${what}, yet it is ${where} of partition ${p}`,
      {
        reason, value, inFinalLog: finalOffsets.length > 0, finalOffsets, readOffsets,
        reads: this.refs(reads),
        produce: produce?.completionIndex === undefined ? null : this.ref(produce.completionIndex),
        producedPartition: produce?.partition ?? null,
      });
  }

  private describeSighting(s: Sighting): { seenBy: string; inFinalLog: boolean; ack: Record<string, unknown> | null; readCount: number; reads: Record<string, unknown>[] } {
    const parts: string[] = [];
    if (s.ackIndex !== undefined) parts.push(`ack #${s.ackIndex}`);
    if (s.readCount > 0) parts.push(`${s.readCount} read(s) from #${s.readIndexes?.[0] ?? '?'}`);
    if (s.final) parts.push('final log');
    return {
      seenBy: parts.join(', '),
      inFinalLog: s.final,
      ack: s.ackIndex === undefined ? null : this.ref(s.ackIndex),
      readCount: s.readCount,
      reads: this.refs(s.readIndexes),
    };
  }

  /** An event as it appears in details: its index in the history and what identifies it. */
  private ref(index: number): Record<string, unknown> {
    const e = this.history[index];
    if (e === undefined) return { index };
    const base: Record<string, unknown> = { index, time: e.time, process: e.process, type: e.type, f: e.f };
    if (e.f === 'read' && e.type !== 'invoke') {
      base['session'] = e.session;
      if (e.node !== undefined) base['node'] = e.node;
    } else if (e.f === 'read') {
      base['session'] = e.session;
    }
    return base;
  }

  private refs(indexes: readonly number[] | undefined): Record<string, unknown>[] {
    return (indexes ?? []).map((i) => this.ref(i));
  }

  private add(kind: AnomalyKind, partition: number, message: string, details: Record<string, unknown>): void {
    this.anomalies.push({ kind, partition, message, details });
  }

  private partitionState(p: number): PartitionState {
    let state = this.partitions.get(p);
    if (state === undefined) {
      state = { byOffset: new Map(), byValue: new Map(), acks: [], maxAck: undefined };
      this.partitions.set(p, state);
    }
    return state;
  }

  private sighting(state: PartitionState, offset: number, value: string): Sighting {
    const atOffset = state.byOffset.get(offset);
    if (atOffset !== undefined) {
      for (const s of atOffset) if (s.value === value) return s;
    }
    const s: Sighting = { offset, value, final: false, ackIndex: undefined, readIndexes: undefined, readCount: 0 };
    if (atOffset === undefined) state.byOffset.set(offset, [s]);
    else atOffset.push(s);
    const ofValue = state.byValue.get(value);
    if (ofValue === undefined) state.byValue.set(value, [s]);
    else ofValue.push(s);
    return s;
  }
}

function groupKey(group: string, partition: number): string {
  return `${group}\u0000${partition}`;
}

function groupRecords(records: PartitionLog): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const [offset, value] of records) {
    const list = map.get(offset);
    if (list === undefined) map.set(offset, [value]);
    else list.push(value);
  }
  return map;
}

function sortedKeys<V>(map: ReadonlyMap<number, V>): number[] {
  return [...map.keys()].sort(byNumber);
}

function byNumber(a: number, b: number): number {
  return a - b;
}

/** First index whose element is >= target, in an ascending array. */
function lowerBound(list: readonly number[], target: number): number {
  return lowerBoundBy(list, target, (x) => x);
}

function lowerBoundBy<T>(list: readonly T[], target: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = list[mid];
    if (item !== undefined && key(item) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function q(value: string): string {
  return JSON.stringify(value);
}
