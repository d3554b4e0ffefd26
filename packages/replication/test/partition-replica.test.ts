// Scenario tests of PartitionReplica, each named after the sentence of DESIGN.md ("Replication",
// "Failure detection and leader election") it proves, in the style of etcd's raft_paper_test.go.
import { describe, expect, it } from 'vitest';
import { MemoryLogStorage, PartitionReplica, batchEnd, type ProduceAck } from '../src/index.js';
import { drive, elect, exchange, flush, makeNode, step, take, ticks, type Node } from './harness.js';

function payload(id: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, id);
  return p;
}

function produce(n: Node, produceId: number, acks: 'NONE' | 'LEADER' | 'QUORUM' | 'ALL', timeoutTicks?: number) {
  const r = n.core.propose({
    produceId,
    payload: payload(produceId),
    recordCount: 1,
    sizeBytes: 100,
    acks,
    ...(timeoutTicks === undefined ? {} : { timeoutTicks }),
  });
  drive(n);
  return r;
}

function ackOf(acks: readonly ProduceAck[], produceId: number): ProduceAck | undefined {
  return acks.find((a) => a.produceId === produceId);
}

function epochsOf(n: Node): number[] {
  const out: number[] = [];
  for (const b of n.log.batches()) for (let i = 0; i < b.recordCount; i++) out.push(b.epoch);
  return out;
}

describe('Replication rule 1: follower fetch stream', () => {
  it('a follower fetches from its (LEO, last epoch) and appends the leader batches as they are pushed', () => {
    const a = makeNode(1);
    const b = makeNode(2);
    const c = makeNode(3);
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    expect(produce(a, 7, 'QUORUM')).toEqual({ ok: true, baseOffset: 0 });
    exchange([a, b, c]);
    for (const n of [a, b, c]) expect(epochsOf(n)).toEqual([1]);
    expect(a.core.highWatermark).toBe(1);
    expect(ackOf(a.acks, 7)).toEqual({ produceId: 7, baseOffset: 0 });
    // followers learn the HW from the leader's pushes
    expect(b.core.highWatermark).toBe(1);
  });

  it('a follower acknowledges only durable offsets: the leader does not count what a follower has not synced', () => {
    const a = makeNode(1);
    const b = makeNode(2, { autoFlush: false });
    const c = makeNode(3, { autoFlush: false });
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    produce(a, 1, 'QUORUM');
    exchange([a, b, c]);
    expect(b.log.logEndOffset).toBe(1);
    expect(a.core.highWatermark).toBe(0);
    expect(ackOf(a.acks, 1)).toBeUndefined();
    flush(b);
    exchange([a, b, c]);
    expect(a.core.highWatermark).toBe(1);
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, baseOffset: 0 });
  });

  it('the leader keeps at most the byte window and the batch window in flight per follower', () => {
    const config = { windowBytesMax: 250, windowBatchesMax: 8, readBytesMax: 10_000 };
    const a = makeNode(1, { config });
    const b = makeNode(2, { config });
    elect(a, [b], 1);
    exchange([a, b]);
    // b stops answering: whatever a ships now stays in flight
    for (let i = 0; i < 10; i++) produce(a, 100 + i, 'NONE');
    const shipped = take(a, 'FetchResponse').filter((o) => o.msg.batches.length > 0);
    const bytes = shipped.flatMap((o) => o.msg.batches).reduce((s, x) => s + x.sizeBytes, 0);
    expect(bytes).toBeLessThanOrEqual(250 + 100); // a shipment may exceed the window by at most its first batch
    expect(a.core.followerProgress(2)?.inFlightBytes).toBe(bytes);

    const c = makeNode(3, { config: { windowBytesMax: 1_000_000, windowBatchesMax: 2 } });
    const d = makeNode(4);
    elect(c, [d], 1);
    exchange([c, d]);
    for (let i = 0; i < 10; i++) produce(c, 200 + i, 'NONE');
    const shipments = take(c, 'FetchResponse').filter((o) => o.msg.batches.length > 0);
    expect(shipments.length).toBe(2);
    expect(c.core.followerProgress(4)?.inFlightBatches).toBe(2);
  });

  it('lost shipments are re-sent from the follower last fetch offset after the retransmit timeout', () => {
    const config = { retransmitTicks: 5 };
    const a = makeNode(1, { config });
    const b = makeNode(2, { config });
    const c = makeNode(3, { config });
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    produce(a, 1, 'QUORUM');
    take(a); // the network loses every push
    ticks([a, b, c], 12);
    expect(epochsOf(b)).toEqual([1]);
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, baseOffset: 0 });
  });
});

describe('Replication rule 2: divergence (KIP-101/320)', () => {
  it('a follower whose (fetchOffset, lastFetchedEpoch) is not a prefix of the leader log truncates to the end of the largest common epoch, then fetches the leader batches', () => {
    // leader: epochs 1,1,1,3 ; follower: 1,1,1,2,2 (epoch 2 never reached the leader)
    const leader = makeNode(1, { epochs: [1, 1, 1, 3], hw: 3 });
    const follower = makeNode(2, { epochs: [1, 1, 1, 2, 2], hw: 3 });
    step(leader, { type: 'PrepareEpoch', epoch: 4 });
    flush(leader);
    for (const n of [leader, follower]) step(n, { type: 'RoleChange', epoch: 4, leader: 1, replicas: [1, 2] });
    const fetch = take(follower, 'FetchRequest');
    expect(fetch[0]?.msg).toMatchObject({ fetchOffset: 5, lastFetchedEpoch: 2 });
    step(leader, fetch[0]!.msg);
    const diverging = take(leader, 'Diverging');
    expect(diverging[0]?.msg).toMatchObject({ divergingEpoch: 1, endOffset: 3 });
    step(follower, diverging[0]!.msg);
    expect(follower.log.logEndOffset).toBe(3);
    exchange([leader, follower]);
    expect(epochsOf(follower)).toEqual([1, 1, 1, 3, 4]);
    expect(follower.core.highWatermark).toBe(5);
  });

  it('a follower that has an epoch the leader lacks truncates in steps to the largest common epoch (KIP-279)', () => {
    const leader = makeNode(1, { epochs: [1, 1, 4, 4] });
    const follower = makeNode(2, { epochs: [1, 1, 1, 2, 3, 3] });
    step(leader, { type: 'PrepareEpoch', epoch: 5 });
    flush(leader);
    for (const n of [leader, follower]) step(n, { type: 'RoleChange', epoch: 5, leader: 1, replicas: [1, 2] });
    exchange([leader, follower]);
    expect(epochsOf(follower)).toEqual(epochsOf(leader));
    expect(epochsOf(follower)).toEqual([1, 1, 4, 4, 5]);
  });

  it('a late Diverging answer to an older fetch is ignored (truncation only for the current position)', () => {
    const follower = makeNode(2, { epochs: [1, 1, 2] });
    step(follower, { type: 'RoleChange', epoch: 3, leader: 1, replicas: [1, 2] });
    step(follower, { type: 'Diverging', epoch: 3, leaderId: 1, fetchOffset: 2, lastFetchedEpoch: 1, divergingEpoch: 1, endOffset: 1 });
    expect(follower.log.logEndOffset).toBe(3);
  });

  it('a follower whose log is a prefix of the leader log never discards data', () => {
    const leader = makeNode(1, { epochs: [1, 1, 2, 2] });
    const follower = makeNode(2, { epochs: [1, 1, 2] });
    step(leader, { type: 'PrepareEpoch', epoch: 3 });
    flush(leader);
    for (const n of [leader, follower]) step(n, { type: 'RoleChange', epoch: 3, leader: 1, replicas: [1, 2] });
    let truncations = 0;
    const orig = follower.log.truncateTo.bind(follower.log);
    follower.log.truncateTo = (o: number) => {
      truncations++;
      orig(o);
    };
    exchange([leader, follower]);
    expect(truncations).toBe(0);
    expect(epochsOf(follower)).toEqual([1, 1, 2, 2, 3]);
  });

  it('a follower takes no batches after an unconfirmed tail (a truncation lost in a crash cannot splice logs)', () => {
    const follower = makeNode(2, { epochs: [1, 1, 2] });
    step(follower, { type: 'RoleChange', epoch: 3, leader: 1, replicas: [1, 2] });
    take(follower);
    // A push at the follower's LEO, without a confirmation of its log: not appended.
    step(follower, { type: 'FetchResponse', epoch: 3, leaderId: 1, batches: [{ ...logOfOne(3, 3) }], leaderHw: 4 });
    expect(follower.log.logEndOffset).toBe(3);
    expect(follower.core.highWatermark).toBe(0);
  });
});

function logOfOne(offset: number, epoch: number) {
  return { baseOffset: offset, recordCount: 1, epoch, sizeBytes: 100, control: false, payload: payload(offset) };
}

describe('Replication rule 2: a log retention emptied is not diverging (issue 11)', () => {
  // Retention deleted every batch on every replica: log start = LEO = HW = 3. Storage before the fix
  // restored no epoch at all for such a log; with it, the epoch before the log start.
  function restarted(id: number, epochKnown: boolean): Node {
    const log = new MemoryLogStorage({ highWatermark: 3, logStart: { offset: 3, epochBefore: 1 } });
    const { logStart: _forgotten, ...legacy } = log.recovered(2);
    const core = new PartitionReplica({ replicaId: id, restored: epochKnown ? log.recovered(2) : legacy });
    return { id, core, log, outbox: [], acks: [], promised: 2, promiseWrites: [], autoFlush: true };
  }

  for (const [what, epochKnown] of [['no epoch known (data written before the fix)', false], ['the epoch before the log start known', true]] as const) {
    it(`restarted followers of an emptied log follow the new leader and truncate nothing: ${what}`, () => {
      const [leader, f2, f3] = [restarted(1, epochKnown), restarted(2, epochKnown), restarted(3, epochKnown)];
      elect(leader, [f2, f3], 3);
      exchange([leader, f2, f3]);
      for (const f of [f2, f3]) {
        expect(take(f, 'FetchRequest')).toEqual([]);
        expect(f.log.logEndOffset).toBe(4); // the new leader's epoch-start batch, nothing dropped
        expect(f.core.highWatermark).toBe(4);
      }
      expect(produce(leader, 7, 'QUORUM')).toEqual({ ok: true, baseOffset: 4 });
      exchange([leader, f2, f3]);
      expect(ackOf(leader.acks, 7)).toEqual({ produceId: 7, baseOffset: 4 });
    });
  }

  it('a follower whose fetch falls below the leader\'s log start starts its log again there (BelowLogStart) and catches up', () => {
    const leader = makeNode(1, { epochs: [1, 1, 1, 1, 1, 1], hw: 6 });
    const follower = makeNode(2, { epochs: [1, 1], hw: 2 }); // was down while the leader's retention ran
    expect(leader.log.applyRetention(5)).toBe(5);
    leader.core.logStartMoved(leader.log.logStart);
    elect(leader, [follower], 2);
    exchange([leader, follower]);
    expect(follower.log.logStart).toEqual({ offset: 5, epochBefore: 1 });
    expect(epochsOf(follower)).toEqual([1, 2]); // offset 5 of epoch 1, then the new leader's marker
    expect(follower.core.highWatermark).toBe(7);
    expect(produce(leader, 9, 'QUORUM')).toEqual({ ok: true, baseOffset: 7 });
    exchange([leader, follower]);
    expect(ackOf(leader.acks, 9)).toEqual({ produceId: 9, baseOffset: 7 });
  });

  it('an emptied log promises with the epoch before its log start, so it wins against a replica that lacks committed offsets', () => {
    const emptied = restarted(1, true);
    step(emptied, { type: 'PrepareEpoch', epoch: 3 });
    flush(emptied);
    expect(take(emptied, 'EpochPromise')[0]?.msg).toMatchObject({ lastEpoch: 1, logEndOffset: 3 });
  });
});

describe('Replication rule 3: commit rule', () => {
  it('a new leader first appends an epoch-start control batch', () => {
    const a = makeNode(1, { epochs: [1, 1] });
    const b = makeNode(2);
    elect(a, [b], 2);
    const last = a.log.batches().at(-1)!;
    expect(last).toMatchObject({ baseOffset: 2, epoch: 2, control: true, recordCount: 1 });
  });

  it('a leader elected with an empty log appends no epoch-start batch: the first produced batch is at offset 0', () => {
    const a = makeNode(1);
    const b = makeNode(2, { autoFlush: false });
    const c = makeNode(3, { autoFlush: false });
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    expect(a.log.batches()).toEqual([]);
    expect(a.core.logEndOffset).toBe(0);
    expect(produce(a, 1, 'QUORUM')).toEqual({ ok: true, baseOffset: 0 });
    expect(a.log.batches()).toMatchObject([{ baseOffset: 0, epoch: 1, control: false, recordCount: 1 }]);
    exchange([a, b, c]);
    expect(a.core.highWatermark).toBe(0); // the batch is durable on the leader only
    flush(b);
    exchange([a, b, c]);
    expect(a.core.highWatermark).toBe(1); // the leader's first batch of its epoch is on a majority
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, baseOffset: 0 });
    expect(b.log.batches()).toMatchObject([{ baseOffset: 0, epoch: 1, control: false }]);
  });

  it('the HW is the largest offset a majority (leader included) has durably', () => {
    const a = makeNode(1);
    const nodes = [2, 3, 4, 5].map((id) => makeNode(id, { autoFlush: false }));
    elect(a, nodes, 1);
    exchange([a, ...nodes]);
    produce(a, 1, 'QUORUM');
    exchange([a, ...nodes]);
    flush(nodes[0]!);
    exchange([a, ...nodes]);
    expect(a.core.highWatermark).toBe(0); // leader + 1 of 5
    flush(nodes[1]!);
    exchange([a, ...nodes]);
    expect(a.core.highWatermark).toBe(1); // leader + 2 of 5
  });

  it('a leader commits nothing from an earlier epoch until its own epoch-start batch is on a majority (Raft figure 8)', () => {
    // S1 holds offset 1 from epoch 1 (never committed); S3 led epoch 2 and wrote only its own
    // epoch-start batch at offset 1, then died. S1 leads epoch 3 and copies offset 1 to S2.
    for (const mutation of [undefined, 'no-epoch-start-rule'] as const) {
      const s1 = makeNode(1, { epochs: [1, 1], hw: 1, ...(mutation === undefined ? {} : { mutation }) });
      const s2 = makeNode(2, { epochs: [1], hw: 1, autoFlush: false });
      step(s1, { type: 'PrepareEpoch', epoch: 3 });
      flush(s1);
      for (const n of [s1, s2]) step(n, { type: 'RoleChange', epoch: 3, leader: 1, replicas: [1, 2, 3] });
      exchange([s1, s2]);
      // S2 has offset 1 (epoch 1) durable but not yet the epoch-3 start batch at offset 2.
      flush(s2, 1);
      exchange([s1, s2]);
      expect(s1.core.followerProgress(2)?.match).toBe(2);
      if (mutation === undefined) {
        // Offset 1 is on a majority (S1, S2) but from epoch 1: not committed. S3 (last epoch 2)
        // could still be elected by S2 + S3 and overwrite it.
        expect(s1.core.highWatermark).toBe(1);
        flush(s2);
        exchange([s1, s2]);
        expect(s1.core.highWatermark).toBe(3); // now the epoch-3 batch is on a majority: both commit
      } else {
        expect(s1.core.highWatermark).toBe(2); // the broken rule commits the epoch-1 entry
      }
    }
  });
});

describe('Replication rule 4: acks', () => {
  it('NONE is acknowledged at once, LEADER on the leader durable append, QUORUM when the HW passes the batch', () => {
    const a = makeNode(1, { autoFlush: false });
    const b = makeNode(2, { autoFlush: false });
    const c = makeNode(3, { autoFlush: false });
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    produce(a, 1, 'NONE');
    produce(a, 2, 'LEADER');
    produce(a, 3, 'QUORUM');
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, baseOffset: 0 });
    expect(ackOf(a.acks, 2)).toBeUndefined();
    flush(a);
    expect(ackOf(a.acks, 2)).toEqual({ produceId: 2, baseOffset: 1 });
    expect(ackOf(a.acks, 3)).toBeUndefined();
    exchange([a, b, c]);
    flush(b);
    exchange([a, b, c]);
    expect(ackOf(a.acks, 3)).toEqual({ produceId: 3, baseOffset: 2 });
  });

  it('ALL waits for every assigned replica and times out when one is down', () => {
    const a = makeNode(1);
    const b = makeNode(2);
    const c = makeNode(3);
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    produce(a, 1, 'ALL', 10);
    exchange([a, b]); // c is down: its messages are never delivered
    take(c);
    expect(a.core.highWatermark).toBe(1);
    expect(ackOf(a.acks, 1)).toBeUndefined();
    for (let i = 0; i < 10; i++) {
      a.core.tick();
      drive(a);
      exchange([a, b]);
      take(c);
    }
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, error: 'TIMEOUT' });

    // c is back: its keepalive fetch and the leader's retransmit bring it up to date.
    produce(a, 2, 'ALL', 50);
    ticks([a, b, c], 30);
    expect(ackOf(a.acks, 2)).toEqual({ produceId: 2, baseOffset: 1 });
  });

  it('QUORUM and ALL are refused with NOT_ENOUGH_REPLICAS when too few followers are live', () => {
    const config = { followerLivenessTicks: 5 };
    const a = makeNode(1, { config });
    const b = makeNode(2, { config });
    const c = makeNode(3, { config });
    elect(a, [b, c], 1);
    for (let i = 0; i < 6; i++) {
      a.core.tick();
      drive(a);
      take(a);
    }
    expect(produce(a, 1, 'QUORUM')).toEqual({ ok: false, error: 'NOT_ENOUGH_REPLICAS' });
    expect(produce(a, 2, 'LEADER')).toMatchObject({ ok: true });
  });

  it('a leader that hears no majority for the isolation period reports LeaderIsolated to the coordinator, once per period; one heard follower is enough to stay quiet', () => {
    const config = { followerLivenessTicks: 5, leaderIsolationTicks: 20 };
    const a = makeNode(1, { config });
    const b = makeNode(2, { config });
    const c = makeNode(3, { config });
    elect(a, [b, c], 1);
    const isolated = () => take(a, 'LeaderIsolated').map((o) => ({ to: o.to, ...o.msg }));
    const tickLeader = (n: number) => {
      for (let i = 0; i < n; i++) {
        a.core.tick();
        drive(a);
      }
    };
    // Follower 2 keeps fetching: a majority ({1, 2}) is live however long 3 is silent.
    for (let i = 0; i < 60; i++) {
      tickLeader(1);
      if (i % 3 === 2) step(a, { type: 'FetchRequest', epoch: 1, replicaId: 2, fetchOffset: a.core.logEndOffset, lastFetchedEpoch: 1, durableOffset: a.core.logEndOffset });
    }
    expect(isolated()).toEqual([]);
    // From the last fetch (just now), nobody: 2 is live for 4 more ticks, then isolated for 20.
    tickLeader(23);
    expect(isolated()).toEqual([]);
    tickLeader(1);
    expect(isolated()).toEqual([{ to: 'coordinator', type: 'LeaderIsolated', epoch: 1, replicaId: 1 }]);
    tickLeader(19);
    expect(isolated()).toEqual([]);
    tickLeader(1);
    expect(isolated()).toHaveLength(1);
    // A single-replica partition is never isolated.
    const solo = makeNode(4, { config });
    elect(solo, [], 1);
    for (let i = 0; i < 100; i++) {
      solo.core.tick();
      drive(solo);
    }
    expect(take(solo, 'LeaderIsolated')).toEqual([]);
  });

  it('a non-leader refuses produces with NOT_LEADER and the pending-produce bound gives TOO_MANY_REQUESTS', () => {
    const a = makeNode(1, { config: { pendingProducesMax: 2 } });
    const b = makeNode(2);
    expect(produce(b, 1, 'QUORUM')).toEqual({ ok: false, error: 'NOT_LEADER' });
    elect(a, [b], 1);
    produce(a, 1, 'QUORUM');
    produce(a, 2, 'QUORUM');
    expect(produce(a, 3, 'QUORUM')).toEqual({ ok: false, error: 'TOO_MANY_REQUESTS' });
  });

  it('consumers only ever see offsets below the HW (the HW never passes the durable majority)', () => {
    const a = makeNode(1);
    const b = makeNode(2, { autoFlush: false });
    const c = makeNode(3, { autoFlush: false });
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    for (let i = 0; i < 5; i++) produce(a, i, 'NONE');
    exchange([a, b, c]);
    expect(a.core.highWatermark).toBe(0);
    expect(a.log.read(0, 1 << 20, a.core.highWatermark)).toEqual([]);
  });
});

describe('Replication rule 5: fencing', () => {
  it('a replica that has promised epoch e rejects messages from epochs below e, and the old leader steps down at once, failing pending QUORUM and ALL produces with NOT_LEADER', () => {
    const a = makeNode(1);
    const b = makeNode(2);
    const c = makeNode(3);
    elect(a, [b, c], 1);
    exchange([a, b, c]);
    // One epoch-1 batch commits before the fence.
    expect(produce(a, 9, 'QUORUM')).toEqual({ ok: true, baseOffset: 0 });
    exchange([a, b, c]);
    expect(ackOf(a.acks, 9)).toEqual({ produceId: 9, baseOffset: 0 });
    // The coordinator (which cannot reach a) prepares epoch 2 on b and c.
    for (const n of [b, c]) {
      step(n, { type: 'PrepareEpoch', epoch: 2 });
      flush(n);
      take(n, 'EpochPromise');
    }
    produce(a, 1, 'QUORUM');
    produce(a, 2, 'ALL');
    exchange([a, b, c]);
    expect(a.core.role).toBe('none');
    expect(a.core.highWatermark).toBe(1);
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, error: 'NOT_LEADER' });
    expect(ackOf(a.acks, 2)).toEqual({ produceId: 2, error: 'NOT_LEADER' });
    expect(epochsOf(b)).toEqual([1]);
    expect(produce(a, 3, 'QUORUM')).toEqual({ ok: false, error: 'NOT_LEADER' });
  });

  it('a leader that sees a higher epoch from the coordinator steps down at once', () => {
    const a = makeNode(1);
    const b = makeNode(2);
    elect(a, [b], 1);
    produce(a, 1, 'QUORUM');
    step(a, { type: 'RoleChange', epoch: 2, leader: 2, replicas: [1, 2] });
    expect(a.core.role).toBe('follower');
    expect(ackOf(a.acks, 1)).toEqual({ produceId: 1, error: 'NOT_LEADER' });
  });

  it('a stale RoleChange (below the promised epoch) is ignored', () => {
    const b = makeNode(2, { promised: 5 });
    step(b, { type: 'RoleChange', epoch: 4, leader: 1, replicas: [1, 2] });
    expect(b.core.role).toBe('none');
  });
});

describe('Election, replica side', () => {
  it('the promise is persisted before it is answered, and the answer carries the durable (lastEpoch, LEO)', () => {
    const b = makeNode(2, { epochs: [1, 1, 2], autoFlush: false });
    step(b, { type: 'PrepareEpoch', epoch: 3 });
    const r = b.promiseWrites;
    expect(r).toEqual([3]);
    expect(take(b, 'EpochPromise')).toEqual([]);
    flush(b);
    expect(b.promised).toBe(3);
    expect(take(b, 'EpochPromise').map((o) => o.msg)).toEqual([
      { type: 'EpochPromise', epoch: 3, replicaId: 2, lastEpoch: 2, logEndOffset: 3 },
    ]);
    step(b, { type: 'PrepareEpoch', epoch: 2 });
    expect(take(b, 'PrepareRejected').map((o) => o.msg)).toEqual([
      { type: 'PrepareRejected', epoch: 2, replicaId: 2, promisedEpoch: 3 },
    ]);
  });

  it('a promise survives a restart: the restarted replica still rejects lower epochs', () => {
    const b = makeNode(2, { promised: 3 });
    step(b, { type: 'FetchResponse', epoch: 2, leaderId: 1, batches: [], leaderHw: 0 });
    expect(take(b, 'Fenced').map((o) => o.msg)).toEqual([{ type: 'Fenced', epoch: 3, replicaId: 2, rejectedEpoch: 2 }]);
  });

  it('a restarted replica does not lead an epoch it promised before the restart; it declines', () => {
    const b = makeNode(2, { epochs: [1], promised: 3 });
    step(b, { type: 'PrepareEpoch', epoch: 3 }); // a duplicate from before the restart
    take(b);
    step(b, { type: 'RoleChange', epoch: 3, leader: 2, replicas: [1, 2, 3] });
    expect(b.core.role).toBe('none');
    expect(take(b, 'LeadershipDeclined').map((o) => o.msg)).toEqual([{ type: 'LeadershipDeclined', epoch: 3, replicaId: 2 }]);
    expect(b.log.logEndOffset).toBe(1);
  });

  it('storage completions must arrive in issue order (an out-of-order completion is a programmer error)', () => {
    const a = makeNode(1, { autoFlush: false });
    elect(a, [], 1);
    produce(a, 1, 'LEADER');
    produce(a, 2, 'LEADER');
    // The append ending at 1 was issued first: completing the one ending at 2 before it is refused.
    expect(() => a.core.appended(2)).toThrow(/unexpected append/);
    expect(a.log.batches().map(batchEnd)).toEqual([1, 2]);
  });
});
