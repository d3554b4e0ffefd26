// The coordinator side of "Failure detection and leader election" (DESIGN.md), sentence by sentence.
import { describe, expect, it } from 'vitest';
import { FailureDetector, LeaderElection, type ElectionReady } from '../src/index.js';

function drain(e: LeaderElection): ElectionReady {
  const r = e.ready();
  const copy = { persist: [...r.persist], send: [...r.send], events: [...r.events] };
  e.advance();
  return copy;
}

function promise(epoch: number, replicaId: number, lastEpoch: number, logEndOffset: number) {
  return { type: 'EpochPromise', epoch, replicaId, lastEpoch, logEndOffset } as const;
}

describe('leader election (coordinator)', () => {
  it('to replace a dead leader the coordinator persists e+1 as its highest epoch before sending PrepareEpoch(e+1) to the live replicas', () => {
    const e = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 4, leader: 1, epoch: 4 });
    e.setLive(new Set([2, 3]));
    const r = drain(e);
    expect(r.persist).toEqual([{ kind: 'highestEpoch', epoch: 5 }]);
    expect(r.send).toEqual([]);
    e.epochPersisted(5);
    expect(drain(e).send).toEqual([
      { to: 2, msg: { type: 'PrepareEpoch', epoch: 5 } },
      { to: 3, msg: { type: 'PrepareEpoch', epoch: 5 } },
    ]);
  });

  it('only when a majority of the replica set has promised does it choose the greatest (lastEpoch, LEO), persist (leader, e+1), and then announce it', () => {
    const e = new LeaderElection({ replicas: [1, 2, 3, 4, 5], highestEpoch: 1, leader: 1, epoch: 1 });
    e.setLive(new Set([2, 3, 4, 5]));
    drain(e);
    e.epochPersisted(2);
    drain(e);
    e.step(promise(2, 2, 1, 10));
    e.step(promise(2, 3, 1, 12));
    expect(drain(e).persist).toEqual([]); // 2 of 5: no majority yet
    e.step(promise(2, 4, 0, 30)); // longer log, older epoch: loses
    const r = drain(e);
    expect(r.persist).toEqual([{ kind: 'assignment', leader: 3, epoch: 2, replicas: [1, 2, 3, 4, 5] }]);
    expect(r.send).toEqual([]);
    e.assignmentPersisted(2);
    const a = drain(e);
    expect(a.events).toEqual([{ kind: 'elected', leader: 3, epoch: 2, unclean: false }]);
    expect(a.send.map((s) => s.to)).toEqual([1, 2, 3, 4, 5]);
    expect(a.send[0]?.msg).toEqual({ type: 'RoleChange', epoch: 2, leader: 3, replicas: [1, 2, 3, 4, 5] });
    expect(e.leader).toBe(3);
  });

  it('without a majority the partition is reported offline, and retried later with a new epoch', () => {
    const e = new LeaderElection(
      { replicas: [1, 2, 3], highestEpoch: 1, leader: 1, epoch: 1 },
      { prepareTimeoutTicks: 5, retryTicks: 3 },
    );
    e.setLive(new Set([2]));
    drain(e);
    e.epochPersisted(2);
    drain(e);
    e.step(promise(2, 2, 1, 5));
    for (let i = 0; i < 5; i++) e.tick();
    const r = drain(e);
    expect(r.events).toContainEqual({ kind: 'offline', epoch: 2, promises: 1 });
    expect(r.persist).toEqual([]);
    for (let i = 0; i < 3; i++) e.tick();
    expect(drain(e).persist).toEqual([{ kind: 'highestEpoch', epoch: 3 }]);
  });

  it('no unclean election unless the topic opts in; with the flag the best minority promiser is elected', () => {
    const e = new LeaderElection(
      { replicas: [1, 2, 3], highestEpoch: 1, leader: 1, epoch: 1 },
      { prepareTimeoutTicks: 5, uncleanElection: true },
    );
    e.setLive(new Set([2]));
    drain(e);
    e.epochPersisted(2);
    drain(e);
    e.step(promise(2, 2, 1, 5));
    for (let i = 0; i < 5; i++) e.tick();
    expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 2, epoch: 2, replicas: [1, 2, 3] }]);
    e.assignmentPersisted(2);
    expect(drain(e).events).toEqual([{ kind: 'elected', leader: 2, epoch: 2, unclean: true }]);
  });

  it('an epoch is never handed out twice, even across a coordinator restart (it restarts from the persisted highest epoch)', () => {
    const e1 = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 7, leader: 1, epoch: 6 });
    e1.setLive(new Set([2, 3]));
    expect(drain(e1).persist).toEqual([{ kind: 'highestEpoch', epoch: 8 }]);
    // crash before the write completed: restart from the durable highest epoch 7 -> 8 again is fine
    // (never announced); after it completed, the next attempt uses 9.
    const e2 = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 8, leader: 1, epoch: 6 });
    e2.setLive(new Set([2, 3]));
    expect(drain(e2).persist).toEqual([{ kind: 'highestEpoch', epoch: 9 }]);
  });

  it('a leader whose session ended (restart) or that declined is replaced', () => {
    const e = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 3, leader: 1, epoch: 3 });
    e.setLive(new Set([1, 2, 3]));
    expect(drain(e).persist).toEqual([]);
    e.sessionEnded(1);
    expect(drain(e).persist).toEqual([{ kind: 'highestEpoch', epoch: 4 }]);

    const f = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 3, leader: 1, epoch: 3 });
    f.setLive(new Set([1, 2, 3]));
    f.step({ type: 'LeadershipDeclined', epoch: 3, replicaId: 1 });
    expect(drain(f).persist).toEqual([{ kind: 'highestEpoch', epoch: 4 }]);
  });

  it('the failure detector declares a broker dead after the session timeout and reports a restart as a new session', () => {
    const fd = new FailureDetector(3);
    expect(fd.heartbeat(1, 1)).toBe(false);
    expect(fd.isLive(1)).toBe(true);
    fd.tick();
    fd.tick();
    expect(fd.isLive(1)).toBe(true);
    fd.tick();
    expect(fd.isLive(1)).toBe(false);
    expect(fd.heartbeat(1, 2)).toBe(true);
    expect(fd.heartbeat(1, 1)).toBe(false); // a late heartbeat of the old process
    expect(fd.live()).toEqual(new Set([1]));
  });
  it('an offline partition is retried at once when one of its replicas becomes live again (a membership change)', () => {
    const e = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 1, leader: 1, epoch: 1 }, { prepareTimeoutTicks: 5, retryTicks: 1000 });
    e.setLive(new Set([2]));
    drain(e);
    e.epochPersisted(2);
    drain(e);
    for (let i = 0; i < 5; i++) e.tick();
    expect(drain(e).events).toContainEqual({ kind: 'offline', epoch: 2, promises: 0 });
    e.setLive(new Set([2])); // nothing new: waits for retryTicks
    expect(drain(e).persist).toEqual([]);
    e.setLive(new Set([2, 3]));
    expect(drain(e).persist).toEqual([{ kind: 'highestEpoch', epoch: 3 }]);
  });

  it("a partition's first election waits for its live preferred replica, so new partitions start on their preferred leaders", () => {
    const e = new LeaderElection({ replicas: [3, 1, 2], highestEpoch: 0, leader: undefined, epoch: 0 }, { prepareTimeoutTicks: 5 });
    e.setLive(new Set([1, 2, 3]));
    expect(drain(e).persist).toEqual([{ kind: 'highestEpoch', epoch: 1 }]);
    e.epochPersisted(1);
    drain(e);
    e.step(promise(1, 1, 0, 0));
    e.step(promise(1, 2, 0, 0));
    expect(drain(e).persist).toEqual([]); // a majority, but not the preferred replica yet
    e.step(promise(1, 3, 0, 0));
    expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 3, epoch: 1, replicas: [3, 1, 2] }]);
  });

  it('a leader reporting itself isolated is moved to the best of the OTHER replicas when they can form a majority; otherwise, or for an old epoch, nothing changes', () => {
    const e = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 3, leader: 1, epoch: 3 });
    e.setLive(new Set([1, 2, 3]));
    drain(e);
    e.step({ type: 'LeaderIsolated', epoch: 2, replicaId: 1 }); // an older leadership
    e.step({ type: 'LeaderIsolated', epoch: 3, replicaId: 2 }); // not the leader
    expect(drain(e).persist).toEqual([]);
    e.step({ type: 'LeaderIsolated', epoch: 3, replicaId: 1 });
    expect(drain(e).persist).toEqual([{ kind: 'highestEpoch', epoch: 4 }]);
    e.epochPersisted(4);
    expect(drain(e).send.map((s) => s.to)).toEqual([1, 2, 3]); // the isolated leader is fenced too
    e.step(promise(4, 1, 3, 20)); // its uncommitted tail makes it the longest: still not chosen
    e.step(promise(4, 2, 3, 12));
    expect(drain(e).persist).toEqual([]);
    e.step(promise(4, 3, 3, 15));
    expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 3, epoch: 4, replicas: [1, 2, 3] }]);

    // Only one other replica live: moving cannot help, the leader keeps serving lower ack levels.
    const f = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 3, leader: 1, epoch: 3 });
    f.setLive(new Set([1, 2]));
    drain(f);
    f.step({ type: 'LeaderIsolated', epoch: 3, replicaId: 1 });
    expect(drain(f).persist).toEqual([]);
    expect(f.leader).toBe(1);
  });

  it('a first election whose preferred replica stays silent falls back to the majority after the prepare timeout', () => {
    const e = new LeaderElection({ replicas: [3, 1, 2], highestEpoch: 0, leader: undefined, epoch: 0 }, { prepareTimeoutTicks: 5 });
    e.setLive(new Set([1, 2, 3]));
    drain(e);
    e.epochPersisted(1);
    drain(e);
    e.step(promise(1, 1, 0, 0));
    e.step(promise(1, 2, 0, 0));
    for (let i = 0; i < 4; i++) e.tick();
    expect(drain(e).persist).toEqual([]);
    e.tick();
    expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 1, epoch: 1, replicas: [3, 1, 2] }]);
  });

  describe('transfer (controlled shutdown, preferred leader)', () => {
    function transferring(replicas: number[], leader: number, live: number[], opts: { exclude?: number; prefer?: number }, config = {}): LeaderElection {
      const e = new LeaderElection({ replicas, highestEpoch: 4, leader, epoch: 4 }, config);
      e.setLive(new Set(live));
      expect(drain(e).persist).toEqual([]);
      expect(e.transfer(opts)).toBe(true);
      expect(drain(e).persist).toEqual([{ kind: 'highestEpoch', epoch: 5 }]);
      e.epochPersisted(5);
      expect(drain(e).send.map((s) => s.to)).toEqual(live);
      return e;
    }

    it('with `exclude`, the leader is the greatest (lastEpoch, LEO) among promises of the OTHER replicas that alone form a majority, so committed data is kept', () => {
      const e = transferring([1, 2, 3], 1, [1, 2, 3], { exclude: 1 });
      e.step(promise(5, 1, 4, 100)); // the excluded leader: longest log (uncommitted tail), never chosen
      e.step(promise(5, 2, 4, 90));
      // {1, 2} is a majority, but without 1 it is not: a batch committed on {1, 3} could be missing from 2.
      expect(drain(e).persist).toEqual([]);
      e.step(promise(5, 3, 4, 95));
      expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 3, epoch: 5, replicas: [1, 2, 3] }]);
      e.assignmentPersisted(5);
      expect(drain(e).events).toEqual([{ kind: 'elected', leader: 3, epoch: 5, unclean: false }]);
    });

    it('with `exclude` on five replicas, three other promisers suffice and the best of them wins', () => {
      const e = transferring([1, 2, 3, 4, 5], 1, [1, 2, 3, 4, 5], { exclude: 1 });
      e.step(promise(5, 1, 4, 50));
      e.step(promise(5, 2, 3, 70));
      e.step(promise(5, 5, 4, 40));
      expect(drain(e).persist).toEqual([]);
      e.step(promise(5, 4, 4, 45));
      expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 4, epoch: 5, replicas: [1, 2, 3, 4, 5] }]);
    });

    it('is refused when the other live replicas cannot form a majority, or when nothing would change', () => {
      const e = new LeaderElection({ replicas: [1, 2, 3], highestEpoch: 4, leader: 1, epoch: 4 });
      e.setLive(new Set([1, 2]));
      expect(e.transfer({ exclude: 1 })).toBe(false);
      expect(e.transfer({ prefer: 1 })).toBe(false); // already the leader
      expect(e.transfer({ prefer: 3 })).toBe(false); // not live
      expect(drain(e).persist).toEqual([]);
      const single = new LeaderElection({ replicas: [1], highestEpoch: 1, leader: 1, epoch: 1 });
      single.setLive(new Set([1]));
      expect(single.transfer({ exclude: 1 })).toBe(false);
    });

    it('with `exclude`, falls back to the plain majority rule after the prepare timeout', () => {
      const e = transferring([1, 2, 3], 1, [1, 2, 3], { exclude: 1 }, { prepareTimeoutTicks: 5 });
      e.step(promise(5, 1, 4, 100));
      e.step(promise(5, 2, 4, 90));
      for (let i = 0; i < 5; i++) e.tick();
      expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 1, epoch: 5, replicas: [1, 2, 3] }]);
    });

    it('with `prefer`, waits for the preferred replica and gives it the tie; a lagging preferred replica does not win', () => {
      const e = transferring([1, 2, 3], 2, [1, 2, 3], { prefer: 1 });
      e.step(promise(5, 2, 4, 50));
      e.step(promise(5, 3, 4, 50));
      expect(drain(e).persist).toEqual([]); // a majority, but the preferred replica has not answered
      e.step(promise(5, 1, 4, 50));
      expect(drain(e).persist).toEqual([{ kind: 'assignment', leader: 1, epoch: 5, replicas: [1, 2, 3] }]);

      const f = transferring([1, 2, 3], 2, [1, 2, 3], { prefer: 1 });
      f.step(promise(5, 1, 4, 40));
      f.step(promise(5, 2, 4, 50));
      expect(drain(f).persist).toEqual([{ kind: 'assignment', leader: 2, epoch: 5, replicas: [1, 2, 3] }]);
    });
  });
});
