import { describe, expect, it } from 'vitest';
import { checkHistory, formatAnomalies } from '../src/history/index.js';
import type { AnomalyKind, CheckInput, CheckResult, HistoryEvent, PartitionLog, ReplicaPrefix } from '../src/history/index.js';

/** Builds a history in order; time advances by 1 ms per event. */
class History {
  readonly events: HistoryEvent[] = [];
  private time = 1_000;

  private now(): number {
    return this.time++;
  }

  produceInvoke(process: number, partition: number, value: string): this {
    this.events.push({ type: 'invoke', f: 'produce', process, time: this.now(), partition, value });
    return this;
  }

  produceOk(process: number, partition: number, value: string, offset: number, attempts = 1): this {
    this.events.push({ type: 'ok', f: 'produce', process, time: this.now(), partition, value, offset, attempts });
    return this;
  }

  produceFail(process: number, partition: number, value: string, error = 'NOT_LEADER'): this {
    this.events.push({ type: 'fail', f: 'produce', process, time: this.now(), partition, value, error });
    return this;
  }

  produceInfo(process: number, partition: number, value: string, error = 'DEADLINE_EXCEEDED'): this {
    this.events.push({ type: 'info', f: 'produce', process, time: this.now(), partition, value, error });
    return this;
  }

  /** invoke + ok. */
  produce(process: number, partition: number, value: string, offset: number, attempts = 1): this {
    return this.produceInvoke(process, partition, value).produceOk(process, partition, value, offset, attempts);
  }

  readInvoke(process: number, partition: number, session: string): this {
    this.events.push({ type: 'invoke', f: 'read', process, time: this.now(), partition, session });
    return this;
  }

  readOk(process: number, partition: number, session: string, records: PartitionLog): this {
    this.events.push({ type: 'ok', f: 'read', process, time: this.now(), partition, session, records, node: 1 });
    return this;
  }

  /** invoke + ok. */
  read(process: number, partition: number, session: string, records: PartitionLog): this {
    return this.readInvoke(process, partition, session).readOk(process, partition, session, records);
  }

  hold(f: 'acquire' | 'release', member: string, partition: number, group = 'g'): this {
    this.events.push({ type: 'ok', f, process: 100, time: this.now(), group, member, partition });
    return this;
  }

  commit(type: 'ok' | 'fail' | 'info', member: string, partition: number, offset: number, group = 'g'): this {
    this.events.push({ type: 'invoke', f: 'commit', process: 200, time: this.now(), group, member, partition, offset });
    this.events.push({ type, f: 'commit', process: 200, time: this.now(), group, member, partition, offset });
    return this;
  }

  nemesis(description: string): this {
    this.events.push({ type: 'info', f: 'nemesis', process: -1, time: this.now(), description });
    return this;
  }
}

function check(history: History, finalLogs: Record<number, PartitionLog>, extra: Partial<Pick<CheckInput, 'replicas' | 'replicationFactor'>> = {}): CheckResult {
  const logs = new Map(Object.entries(finalLogs).map(([p, log]) => [Number(p), log]));
  return checkHistory({ history: history.events, finalLogs: logs, ...extra });
}

function kinds(result: CheckResult): AnomalyKind[] {
  return result.anomalies.map((a) => a.kind);
}

function only(result: CheckResult, kind: AnomalyKind): CheckResult['anomalies'][number] {
  const found = result.anomalies.filter((a) => a.kind === kind);
  expect(found, formatAnomalies(result)).toHaveLength(1);
  const [anomaly] = found;
  if (anomaly === undefined) throw new Error('unreachable');
  return anomaly;
}

function expectClean(result: CheckResult): void {
  expect(result.anomalies, formatAnomalies(result)).toEqual([]);
  expect(result.valid).toBe(true);
}

describe('checkHistory: valid histories produce no anomaly', () => {
  it('accepts acknowledged writes that are all in the final log and read in order', () => {
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 0, 'b', 1).produce(2, 1, 'c', 0)
      .read(3, 0, 's1', [[0, 'a'], [1, 'b']])
      .read(3, 1, 's2', [[0, 'c']]);
    const result = check(h, { 0: [[0, 'a'], [1, 'b']], 1: [[0, 'c']] });
    expectClean(result);
    expect(result.stats).toEqual({ produceOk: 3, produceFail: 0, produceInfo: 0, reads: 2, recordsRead: 3 });
  });

  it('accepts offset gaps left by control records, read across by one session in several polls', () => {
    // A new leader's invisible control record takes offset 2, another one offset 5.
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 0, 'b', 1)
      .nemesis('kill broker-1')
      .produce(1, 0, 'c', 3).produce(1, 0, 'd', 4)
      .produce(1, 0, 'e', 6)
      .read(2, 0, 's', [[0, 'a'], [1, 'b']])
      .read(2, 0, 's', [])
      .read(2, 0, 's', [[3, 'c']])
      .read(2, 0, 's', [[4, 'd'], [6, 'e']]);
    expectClean(check(h, { 0: [[0, 'a'], [1, 'b'], [3, 'c'], [4, 'd'], [6, 'e']] }));
  });

  it('accepts a failed produce that is absent and an info produce either present or absent', () => {
    const h = new History()
      .produceInvoke(1, 0, 'refused').produceFail(1, 0, 'refused')
      .produceInvoke(2, 0, 'maybe-in').produceInfo(2, 0, 'maybe-in')
      .produceInvoke(3, 0, 'maybe-out').produceInfo(3, 0, 'maybe-out')
      .produceInvoke(4, 0, 'pending') // never completes: unknown, like info
      .read(5, 0, 's', [[0, 'maybe-in']]);
    const result = check(h, { 0: [[0, 'maybe-in']] });
    expectClean(result);
    expect(result.stats).toMatchObject({ produceOk: 0, produceFail: 1, produceInfo: 2 });
  });

  it('reports a duplicate explained by a retry (attempts > 1) without invalidating the history', () => {
    const h = new History()
      .produce(1, 0, 'x', 1, 2)
      .read(2, 0, 's', [[0, 'x'], [1, 'x']]);
    const result = check(h, { 0: [[0, 'x'], [1, 'x']] });
    expect(kinds(result)).toEqual(['duplicate']);
    expect(result.valid).toBe(true);
    expect(only(result, 'duplicate').details).toMatchObject({ value: 'x', offsets: [0, 1], explainedByRetry: true, attempts: 2 });
  });

  it('reports a duplicate of an info produce as explained', () => {
    const h = new History().produceInvoke(1, 0, 'x').produceInfo(1, 0, 'x');
    const result = check(h, { 0: [[3, 'x'], [4, 'x']] });
    expect(kinds(result)).toEqual(['duplicate']);
    expect(result.valid).toBe(true);
  });

  it('accepts concurrent produces acknowledged in any offset order', () => {
    const h = new History()
      .produceInvoke(1, 0, 'a').produceInvoke(2, 0, 'b')
      .produceOk(1, 0, 'a', 1).produceOk(2, 0, 'b', 0);
    expectClean(check(h, { 0: [[0, 'b'], [1, 'a']] }));
  });

  it('accepts a read invoked before an ack that does not contain the acknowledged record', () => {
    const h = new History()
      .produce(1, 0, 'a', 0)
      .produceInvoke(1, 0, 'b')
      .readInvoke(2, 0, 's')
      .produceOk(1, 0, 'b', 1)
      .readOk(2, 0, 's', [[0, 'a']]);
    expectClean(check(h, { 0: [[0, 'a'], [1, 'b']] }));
  });

  it('accepts hand-overs of a partition between members, re-acquires and monotonic commits', () => {
    const h = new History()
      .hold('acquire', 'm1', 0).hold('acquire', 'm1', 0)
      .hold('acquire', 'm2', 1)
      .commit('ok', 'm1', 0, 5).commit('ok', 'm1', 0, 5)
      .hold('release', 'm1', 0).hold('acquire', 'm2', 0)
      .commit('fail', 'm2', 0, 2) // a refused commit of a lower offset is fine
      .commit('ok', 'm2', 0, 7)
      .hold('acquire', 'm1', 0, 'other-group'); // another group holds independently
    expectClean(check(h, {}));
  });

  it('accepts replicas whose committed prefixes agree and hold every ack on a quorum', () => {
    const h = new History().produce(1, 0, 'a', 0).produce(1, 0, 'b', 2);
    const replicas: ReplicaPrefix[] = [
      { node: 1, partition: 0, records: [[0, 'a'], [2, 'b']] },
      { node: 2, partition: 0, records: [[0, 'a'], [2, 'b']] },
      { node: 3, partition: 0, records: [[0, 'a']] }, // lagging follower
    ];
    expectClean(check(h, { 0: [[0, 'a'], [2, 'b']] }, { replicas, replicationFactor: 3 }));
  });

  it('is deterministic', () => {
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 1, 'b', 0)
      .read(2, 0, 's', [[0, 'zz'], [0, 'a']]);
    const input = { 0: [[1, 'q']] as PartitionLog, 1: [] as PartitionLog };
    expect(check(h, input)).toEqual(check(h, input));
  });
});

describe('checkHistory: anomalies', () => {
  it('lost-write: an acknowledged value missing from the final log', () => {
    const h = new History().produce(1, 0, 'a', 0).produce(1, 0, 'b', 1);
    const result = check(h, { 0: [[0, 'a']] });
    expect(result.valid).toBe(false);
    const a = only(result, 'lost-write');
    expect(a.partition).toBe(0);
    expect(a.details).toMatchObject({ value: 'b', offset: 1, ack: { index: 3, f: 'produce', type: 'ok' } });
    expect(a.message).toContain('"b"');
    expect(kinds(result)).toEqual(['lost-write']);
  });

  it('divergent-offset: an acknowledged value at another offset in the final log (not a lost write)', () => {
    const h = new History().produce(1, 0, 'a', 4);
    const result = check(h, { 0: [[6, 'a']] });
    expect(kinds(result)).toEqual(['divergent-offset']);
    expect(result.anomalies[0]?.details).toMatchObject({ value: 'a', ackOffset: 4, finalOffsets: [6] });
  });

  it('divergent-offset: two values at one offset, between two reads', () => {
    const h = new History()
      .produceInvoke(1, 0, 'a').produceInfo(1, 0, 'a')
      .produceInvoke(2, 0, 'b').produceInfo(2, 0, 'b')
      .read(3, 0, 's1', [[0, 'a']])
      .read(4, 0, 's2', [[0, 'b']]);
    const result = check(h, { 0: [] });
    const a = result.anomalies.find((x) => x.kind === 'divergent-offset');
    expect(a?.details).toMatchObject({ offset: 0, values: [{ value: 'a', readCount: 1 }, { value: 'b', readCount: 1 }] });
    expect(result.valid).toBe(false);
  });

  it('divergent-offset: a read and the final log disagree (also an uncommitted read)', () => {
    const h = new History()
      .produceInvoke(1, 0, 'a').produceInfo(1, 0, 'a')
      .read(3, 0, 's', [[0, 'a']])
      .produce(2, 0, 'b', 0);
    const result = check(h, { 0: [[0, 'b']] });
    expect(kinds(result)).toEqual(['divergent-offset', 'uncommitted-read']);
    expect(only(result, 'divergent-offset').details).toMatchObject({
      offset: 0, values: [{ value: 'a', inFinalLog: false, readCount: 1 }, { value: 'b', inFinalLog: true, ack: { index: 5 } }],
    });
  });

  it('divergent-offset: two acks at one offset', () => {
    const h = new History().produce(1, 0, 'a', 0).produce(1, 0, 'b', 0);
    const result = check(h, { 0: [[0, 'a']] });
    expect(kinds(result)).toEqual(['lost-write', 'divergent-offset']);
  });

  it('value-at-two-offsets: one value read at two offsets by different reads', () => {
    const h = new History()
      .produceInvoke(1, 0, 'a').produceInfo(1, 0, 'a')
      .read(2, 0, 's1', [[3, 'a']])
      .read(3, 0, 's2', [[5, 'a']]);
    const result = check(h, { 0: [] });
    const a = only(result, 'value-at-two-offsets');
    expect(a.details).toMatchObject({ value: 'a', offsets: [{ offset: 3, readCount: 1 }, { offset: 5, readCount: 1 }] });
    expect(result.valid).toBe(false);
  });

  it('value-at-two-offsets: a read at an offset other than the ack and the final log', () => {
    const h = new History().produce(1, 0, 'a', 0).read(2, 0, 's', [[1, 'a']]);
    const result = check(h, { 0: [[0, 'a']] });
    expect(kinds(result)).toEqual(['value-at-two-offsets', 'uncommitted-read']);
  });

  it('skipped-record: a session jumps over a record that the final log has', () => {
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 0, 'b', 2).produce(1, 0, 'c', 3)
      .read(2, 0, 's', [[0, 'a']])
      .read(2, 0, 's', [[3, 'c']]);
    const result = check(h, { 0: [[0, 'a'], [2, 'b'], [3, 'c']] });
    const a = only(result, 'skipped-record');
    expect(a.details).toMatchObject({
      session: 's', missedCount: 1, missed: [{ offset: 2, values: ['b'] }],
      previous: { offset: 0, value: 'a' }, next: { offset: 3, value: 'c' },
    });
    expect(kinds(result)).toEqual(['skipped-record']);
  });

  it('skipped-record: a session skips a record that only another read saw', () => {
    const h = new History()
      .produceInvoke(1, 0, 'a').produceInfo(1, 0, 'a')
      .produceInvoke(1, 0, 'b').produceInfo(1, 0, 'b')
      .produceInvoke(1, 0, 'c').produceInfo(1, 0, 'c')
      .read(2, 0, 's1', [[0, 'a'], [1, 'b'], [2, 'c']])
      .read(3, 0, 's2', [[0, 'a'], [2, 'c']]);
    const result = check(h, { 0: [[0, 'a'], [2, 'c']] });
    expect(only(result, 'skipped-record').details).toMatchObject({ session: 's2', missed: [{ offset: 1, values: ['b'] }] });
  });

  it('reordered-read: offsets going backwards within one poll and across polls of a session', () => {
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 0, 'b', 1).produce(1, 0, 'c', 2)
      .read(2, 0, 's', [[1, 'b'], [0, 'a']])
      .read(2, 0, 's', [[1, 'b']])
      .read(2, 0, 's', [[2, 'c']])
      .read(2, 0, 's', [[2, 'c']]);
    const result = check(h, { 0: [[0, 'a'], [1, 'b'], [2, 'c']] });
    expect(kinds(result)).toEqual(['reordered-read', 'reordered-read']);
    expect(result.anomalies[0]?.details).toMatchObject({ session: 's', previous: { offset: 1 }, next: { offset: 0 } });
    expect(result.anomalies[1]?.details).toMatchObject({ previous: { offset: 2 }, next: { offset: 2 } });
  });

  it('phantom-read: a read of a value never produced', () => {
    const h = new History().read(1, 0, 's', [[0, 'ghost']]);
    const result = check(h, { 0: [[0, 'ghost']] });
    expect(kinds(result)).toEqual(['phantom-read']);
    expect(result.anomalies[0]?.details).toMatchObject({ reason: 'never-produced', value: 'ghost', readOffsets: [0], inFinalLog: true });
  });

  it('phantom-read: a failed produce whose value is read and in the final log', () => {
    const h = new History()
      .produceInvoke(1, 0, 'x').produceFail(1, 0, 'x', 'NOT_LEADER')
      .read(2, 0, 's', [[0, 'x']]);
    const result = check(h, { 0: [[0, 'x']] });
    const a = only(result, 'phantom-read');
    expect(a.details).toMatchObject({ reason: 'failed-produce', inFinalLog: true, produce: { type: 'fail' } });
    expect(a.message).toContain('NOT_LEADER');
  });

  it('phantom-read: a failed produce whose value is only in the final log', () => {
    const h = new History().produceInvoke(1, 0, 'x').produceFail(1, 0, 'x');
    const result = check(h, { 0: [[0, 'x']] });
    expect(only(result, 'phantom-read').details).toMatchObject({ reason: 'failed-produce', finalOffsets: [0], readOffsets: [] });
  });

  it('phantom-read: a value read from a partition it was not produced to', () => {
    const h = new History().produce(1, 0, 'x', 0).read(2, 1, 's', [[0, 'x']]);
    const result = check(h, { 0: [[0, 'x']], 1: [] });
    expect(only(result, 'phantom-read').details).toMatchObject({ reason: 'other-partition', producedPartition: 0 });
  });

  it('uncommitted-read: a record read and later truncated (offset then unused)', () => {
    const h = new History()
      .produceInvoke(1, 0, 'a').produceInfo(1, 0, 'a')
      .read(2, 0, 's', [[0, 'a']]);
    const result = check(h, { 0: [] });
    expect(kinds(result)).toEqual(['uncommitted-read']);
    expect(result.anomalies[0]?.details).toMatchObject({ offset: 0, value: 'a', finalValue: null, readCount: 1, reads: [{ index: 3, session: 's', node: 1 }] });
  });

  it('duplicate: a value twice in the final log without a retry invalidates the history', () => {
    const h = new History().produce(1, 0, 'x', 0);
    const result = check(h, { 0: [[0, 'x'], [1, 'x']] });
    expect(kinds(result)).toEqual(['duplicate']);
    expect(result.valid).toBe(false);
    expect(result.anomalies[0]?.details).toMatchObject({ explainedByRetry: false, offsets: [0, 1], attempts: 1 });
  });

  it('double-hold: two members of a group hold one partition at once', () => {
    const h = new History()
      .hold('acquire', 'm1', 0)
      .hold('acquire', 'm2', 0)
      .hold('release', 'm1', 0)
      .hold('release', 'm2', 0);
    const result = check(h, {});
    const a = only(result, 'double-hold');
    expect(a.details).toMatchObject({ group: 'g', holding: { member: 'm1', acquire: { index: 0 } }, acquiring: { member: 'm2', acquire: { index: 1 } } });
  });

  it('double-hold: an acquire without a release lasts until the end of the history', () => {
    const h = new History()
      .hold('acquire', 'm1', 3)
      .nemesis('partition m1 from the coordinator')
      .hold('acquire', 'm2', 3);
    expect(kinds(check(h, {}))).toEqual(['double-hold']);
  });

  it('non-monotonic-commit: an ok commit lower than an earlier ok commit', () => {
    const h = new History().commit('ok', 'm1', 0, 10).commit('ok', 'm2', 0, 4);
    const result = check(h, {});
    expect(only(result, 'non-monotonic-commit').details).toMatchObject({
      group: 'g', earlier: { offset: 10, member: 'm1' }, later: { offset: 4, member: 'm2' },
    });
  });

  it('real-time-order: a produce invoked after another was acknowledged gets a lower offset', () => {
    const h = new History()
      .produce(1, 0, 'a', 5)
      .produce(1, 0, 'b', 3);
    const result = check(h, { 0: [[3, 'b'], [5, 'a']] });
    expect(kinds(result)).toEqual(['real-time-order']);
    expect(result.anomalies[0]?.details).toMatchObject({ earlier: { value: 'a', offset: 5 }, later: { value: 'b', offset: 3 } });
  });

  it('stale-read: a read after an ack spans its offset but returns another value there (split brain)', () => {
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 0, 'b', 1).produce(1, 0, 'c', 2)
      .produceInvoke(9, 0, 'old').produceInfo(9, 0, 'old')
      .read(2, 0, 's', [[0, 'a'], [1, 'old'], [2, 'c']]);
    const result = check(h, { 0: [[0, 'a'], [1, 'b'], [2, 'c']] });
    expect(kinds(result)).toEqual(['divergent-offset', 'uncommitted-read', 'stale-read']);
    expect(only(result, 'stale-read').details).toMatchObject({
      session: 's', first: 0, last: 2, missingCount: 1, missing: [{ offset: 1, value: 'b', got: ['old'] }],
    });
  });

  it('stale-read: a read after an ack spans its offset but has nothing there', () => {
    const h = new History()
      .produce(1, 0, 'a', 0).produce(1, 0, 'b', 1).produce(1, 0, 'c', 2)
      .read(2, 0, 's', [[0, 'a'], [2, 'c']]);
    const result = check(h, { 0: [[0, 'a'], [1, 'b'], [2, 'c']] });
    expect(kinds(result)).toEqual(['skipped-record', 'stale-read']);
  });

  it('replica-divergence: two committed prefixes disagree at an offset', () => {
    const h = new History().produce(1, 0, 'a', 0);
    const replicas: ReplicaPrefix[] = [
      { node: 1, partition: 0, records: [[0, 'a'], [1, 'b']] },
      { node: 2, partition: 0, records: [[0, 'a'], [1, 'c']] },
    ];
    const result = check(h, { 0: [[0, 'a']] }, { replicas });
    expect(only(result, 'replica-divergence').details).toMatchObject({ offset: 1, replicas: [{ node: 1, value: 'b' }, { node: 2, value: 'c' }] });
  });

  it('under-replicated-ack: an acknowledged record on fewer than a quorum of committed prefixes', () => {
    const h = new History().produce(1, 0, 'a', 0).produce(1, 0, 'b', 1);
    const replicas: ReplicaPrefix[] = [
      { node: 1, partition: 0, records: [[0, 'a'], [1, 'b']] },
      { node: 2, partition: 0, records: [[0, 'a']] },
      { node: 3, partition: 0, records: [] },
    ];
    const result = check(h, { 0: [[0, 'a'], [1, 'b']] }, { replicas, replicationFactor: 3 });
    expect(only(result, 'under-replicated-ack').details).toMatchObject({ value: 'b', offset: 1, nodes: [1], quorum: 2, replicasRead: [1, 2, 3] });
    // Without a replication factor there is no quorum to check against.
    expect(kinds(check(h, { 0: [[0, 'a'], [1, 'b']] }, { replicas }))).toEqual([]);
  });
});

describe('checkHistory: input contract', () => {
  it('throws when a partition of the history has no final log', () => {
    const h = new History().produce(1, 2, 'a', 0);
    expect(() => check(h, { 0: [] })).toThrow(/no entry for partition 2/);
  });

  it('throws when a value is produced twice', () => {
    const h = new History().produce(1, 0, 'a', 0).produce(1, 0, 'a', 1);
    expect(() => check(h, { 0: [] })).toThrow(/produced twice/);
  });
});

describe('formatAnomalies', () => {
  it('prints a summary, one line per kind and up to limit examples', () => {
    const h = new History().produce(1, 0, 'a', 0).produce(1, 0, 'b', 1).produce(1, 0, 'c', 2, 3);
    const result = check(h, { 0: [[2, 'c'], [3, 'c']] });
    const text = formatAnomalies(result, 1);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^INVALID: 2 violation\(s\), 1 explained; produce ok 3/);
    expect(lines).toContain('  lost-write: 2 in partition(s) 0');
    expect(lines).toContain('  duplicate: 1 (1 explained by retry) in partition(s) 0');
    expect(lines.filter((l) => l.startsWith('  [')).length).toBe(1);
    expect(formatAnomalies(check(new History(), {}))).toBe('valid: 0 violation(s), 0 explained; produce ok 0 / fail 0 / info 0, 0 read(s), 0 record(s) read');
  });
});

describe('checkHistory: scale', () => {
  it('checks a valid history of 50k produces and their reads in under 3 s', () => {
    const partitions = 4;
    const producesMax = 50_000;
    const h = new History();
    const next = new Array<number>(partitions).fill(0);
    const logs: [number, string][][] = Array.from({ length: partitions }, () => []);
    // Deterministic pseudo-random: an LCG seeded with a constant.
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < producesMax; i++) {
      const p = i % partitions;
      const value = `v${i}`;
      const process = 1 + (i % 8);
      h.produceInvoke(process, p, value);
      const roll = random();
      if (roll < 0.02) {
        h.produceFail(process, p, value);
        continue;
      }
      if (roll < 0.03) next[p] = (next[p] ?? 0) + 1; // a control record takes an offset
      const offset = next[p] ?? 0;
      next[p] = offset + 1;
      logs[p]?.push([offset, value]);
      if (roll > 0.99) h.produceInfo(process, p, value);
      else h.produceOk(process, p, value, offset, roll > 0.98 ? 2 : 1);
      if (i % 50 === 49) h.commit('ok', 'm1', p, offset);
    }
    // Each partition is read by two sessions in polls of 100 records.
    let readProcess = 100;
    for (let p = 0; p < partitions; p++) {
      const log = logs[p] ?? [];
      for (const session of [`p${p}-a`, `p${p}-b`]) {
        const process = readProcess++;
        for (let start = 0; start < log.length; start += 100) h.read(process, p, session, log.slice(start, start + 100));
      }
    }
    const finalLogs = new Map(logs.map((log, p) => [p, log as PartitionLog]));
    const started = performance.now();
    const result = checkHistory({ history: h.events, finalLogs });
    const elapsedMs = performance.now() - started;
    expect(result.anomalies.slice(0, 3)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.stats.produceOk + result.stats.produceFail + result.stats.produceInfo).toBe(producesMax);
    expect(result.stats.recordsRead).toBe(2 * logs.reduce((n, log) => n + log.length, 0));
    expect(h.events.length).toBeGreaterThan(100_000);
    expect(elapsedMs).toBeLessThan(3_000);
  });
});
