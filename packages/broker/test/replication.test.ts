import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { ERROR_METADATA, GRPC_CHANNEL_OPTIONS, runnelGrpc } from '@runnel/protocol';
import type { BrokerClient, ListOffsetsResponse__Output, ProduceRequest, ReplicateFrame, TopicInfo } from '@runnel/protocol';
import { BATCH_ATTRIBUTE_CONTROL, Store, decodeBatchHeader } from '@runnel/storage';
import type { RunningBroker } from '../src/index.js';
import {
  STUB_CLUSTER_ID, StubCoordinator, brokerClient, errorCode, failure, produce, silentLogger, startClusterBroker, tempDir, topic, unary, value, waitFor,
} from './helpers.js';

/** Three in-process brokers (ids 1-3), each with its own data dir, and the stub coordinator. */
class Cluster {
  readonly brokers = new Map<number, RunningBroker>();
  readonly clients = new Map<number, BrokerClient>();
  readonly dirs = new Map<number, { path: string; remove(): Promise<void> }>();
  /** Per broker: peers whose replication messages it drops. */
  readonly cuts = new Map<number, Set<number>>();

  private constructor(readonly coordinator: StubCoordinator) {}

  static async start(topics: TopicInfo[]): Promise<Cluster> {
    const c = new Cluster(await StubCoordinator.start());
    await c.coordinator.setTopics(topics);
    for (const id of [1, 2, 3]) {
      c.dirs.set(id, await tempDir());
      c.cuts.set(id, new Set());
    }
    await Promise.all([1, 2, 3].map((id) => c.startBroker(id)));
    return c;
  }

  async startBroker(id: number): Promise<void> {
    const cut = this.cuts.get(id)!;
    const broker = await startClusterBroker(id, this.dirs.get(id)!.path, this.coordinator, { replicationFaults: { isCut: (peer) => cut.has(peer) } });
    this.brokers.set(id, broker);
    this.clients.set(id, brokerClient(broker.address));
  }

  async stopBroker(id: number): Promise<void> {
    this.clients.get(id)?.close();
    this.clients.delete(id);
    const b = this.brokers.get(id);
    this.brokers.delete(id);
    await b?.close();
  }

  client(id: number): BrokerClient {
    const c = this.clients.get(id);
    if (c === undefined) throw new Error(`broker ${id} is not running`);
    return c;
  }

  /** Replication messages between `a` and `b` are dropped (both ways, both sides). */
  cut(a: number, b: number): void {
    this.cuts.get(a)!.add(b);
    this.cuts.get(b)!.add(a);
  }

  heal(a: number, b: number): void {
    this.cuts.get(a)!.delete(b);
    this.cuts.get(b)!.delete(a);
  }

  offsets(id: number, t: string, p: number): Promise<ListOffsetsResponse__Output> {
    const client = this.client(id);
    return unary(client.ListOffsets.bind(client), { topic: t, partitions: [p] });
  }

  /** Waits until `leader` reports, in its heartbeats, every replica of topicId/p in sync. */
  async inSync(leader: number, topicId: string, p: number, replicas: number[], what: string, logEndAtLeast = 0): Promise<void> {
    await waitFor(() => {
      const s = this.coordinator.statuses.get(leader)?.find((x) => x.topicId === topicId && x.partition === p);
      return s !== undefined && replicas.every((r) => s.inSyncReplicas.includes(r)) && s.highWatermark === s.logEndOffset && Number(s.logEndOffset) >= logEndAtLeast;
    }, what, 10_000);
  }

  /** Stops every broker, then reads each one's stored batches of topicId/p. */
  async stopAndReadLogs(topicId: string, p: number): Promise<Map<number, { batches: Buffer[]; hw: number }>> {
    for (const id of [...this.brokers.keys()]) await this.stopBroker(id);
    return this.readLogs(topicId, p);
  }

  /** Each (stopped) broker's stored batches of topicId/p and its HW checkpoint. */
  async readLogs(topicId: string, p: number): Promise<Map<number, { batches: Buffer[]; hw: number }>> {
    const out = new Map<number, { batches: Buffer[]; hw: number }>();
    for (const [id, dir] of this.dirs) {
      const store = await Store.open(dir.path, { fsync: { kind: 'never' }, logger: silentLogger });
      try {
        const log = await store.partition({ topicId, partition: p });
        const batches: Buffer[] = [];
        let next = log.logStartOffset;
        while (next < log.logEndOffset) {
          const got = await log.read(next, 1 << 20, log.logEndOffset);
          if (got.length === 0) break;
          batches.push(...got);
          const h = decodeBatchHeader(got[got.length - 1]!);
          next = h.baseOffset + h.recordCount;
        }
        out.set(id, { batches, hw: log.highWatermark });
      } finally {
        await store.close();
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const id of [...this.brokers.keys()]) await this.stopBroker(id);
    this.coordinator.close();
    for (const d of this.dirs.values()) await d.remove();
  }
}

const end = (b: Buffer): number => {
  const h = decodeBatchHeader(b);
  return h.baseOffset + h.recordCount;
};
const values = (batches: Buffer[]): string[] =>
  batches.filter((b) => (decodeBatchHeader(b).attributes & BATCH_ATTRIBUTE_CONTROL) === 0).map((b) => b.toString('latin1'));
/** Batches wholly below `hw`. */
const below = (batches: Buffer[], hw: number): Buffer[] => batches.filter((b) => end(b) <= hw);

const replicated = (name: string, leaders: number[] = [1]): TopicInfo =>
  topic({ name, partitions: leaders.length, leaders, replicas: leaders.map(() => [1, 2, 3]) });

let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const req = (t: string, p: number, v: string, extra: Partial<ProduceRequest> = {}): ProduceRequest => ({ topic: t, partition: p, records: [value(v)], ...extra });

describe('replication (three in-process brokers)', () => {
  it('acknowledges QUORUM once a follower has the batch durable: with 2 of 3, not with 1 of 3', async () => {
    const c = (cluster = await Cluster.start([replicated('q')]));
    const first = await waitFor(() => produce(c.client(1), req('q', 0, 'first')).catch(() => undefined), 'leader serving');
    expect(first).toMatchObject({ baseOffset: 0, leaderEpoch: 1 }); // a new partition's leader writes no epoch-start batch

    c.cut(1, 3);
    const twoOfThree = await produce(c.client(1), req('q', 0, 'two-of-three', { timeoutMs: 5_000 }));
    expect(twoOfThree.baseOffset).toBe(1);
    // ALL needs the cut follower too.
    const all = await failure(produce(c.client(1), req('q', 0, 'all', { acks: 'ACKS_ALL', timeoutMs: 300 })));
    expect(['TIMEOUT', 'NOT_ENOUGH_REPLICAS']).toContain(errorCode(all as grpc.ServiceError));

    c.cut(1, 2);
    const alone = await failure(produce(c.client(1), req('q', 0, 'alone', { timeoutMs: 300 })));
    expect(errorCode(alone as grpc.ServiceError)).toBe('TIMEOUT');
    const hwAlone = (await c.offsets(1, 'q', 0)).partitions[0]!;
    expect(hwAlone.logEndOffset).toBeGreaterThan(hwAlone.highWatermark); // written locally, never committed
    // Once the followers have been silent for the liveness window, QUORUM is refused at once.
    await waitFor(() => produce(c.client(1), req('q', 0, 'refused', { timeoutMs: 300 })).then(() => false, (e: grpc.ServiceError) => errorCode(e) === 'NOT_ENOUGH_REPLICAS'), 'NOT_ENOUGH_REPLICAS');
    // LEADER acks need no follower.
    expect((await produce(c.client(1), req('q', 0, 'leader-only', { acks: 'ACKS_LEADER' }))).baseOffset).toBeGreaterThan(1);

    c.heal(1, 2);
    c.heal(1, 3);
    const healed = await waitFor(() => produce(c.client(1), req('q', 0, 'healed', { timeoutMs: 2_000 })).catch(() => undefined), 'QUORUM again', 10_000);
    const topicId = 'id-q';
    await c.inSync(1, topicId, 0, [1, 2, 3], 'all replicas in sync');
    const logs = await c.stopAndReadLogs(topicId, 0);
    const leaderLog = logs.get(1)!;
    expect(leaderLog.hw).toBeGreaterThanOrEqual(healed.baseOffset + 1);
    for (const id of [2, 3]) expect(logs.get(id)!.batches.map((b) => b.toString('hex'))).toEqual(leaderLog.batches.map((b) => b.toString('hex')));
  });

  it('replicates both ways (leaders on two brokers) and every follower log equals its leader up to the HW', async () => {
    const c = (cluster = await Cluster.start([replicated('both', [1, 2])]));
    for (let i = 0; i < 20; i++) {
      const p = i % 2;
      const leader = p === 0 ? 1 : 2;
      await waitFor(() => produce(c.client(leader), req('both', p, `v${i}`)).catch(() => undefined), `produce ${i}`);
    }
    // ProduceStream-style pipelining: many in flight at once.
    await Promise.all(Array.from({ length: 50 }, (_, i) => produce(c.client(1), { topic: 'both', partition: 0, records: [value(`burst${i}`), value(`b${i}`)] })));
    await c.inSync(1, 'id-both', 0, [1, 2, 3], 'partition 0 in sync');
    await c.inSync(2, 'id-both', 1, [1, 2, 3], 'partition 1 in sync');
    const hw0 = (await c.offsets(1, 'both', 0)).partitions[0]!.highWatermark;
    expect(hw0).toBe(10 + 100); // 10 single records + 50 pairs (an empty log's first leader writes no epoch-start batch)
    for (const id of [1, 2, 3]) await c.stopBroker(id);
    for (const [p, leader] of [[0, 1], [1, 2]] as const) {
      const logs = await c.readLogs('id-both', p);
      const lead = logs.get(leader)!;
      for (const id of [1, 2, 3]) {
        const l = logs.get(id)!;
        expect(below(l.batches, lead.hw).map((b) => b.toString('hex'))).toEqual(below(lead.batches, lead.hw).map((b) => b.toString('hex')));
      }
    }
  });

  it('on a leader change to a follower at a higher epoch: old pending produces fail LEADERSHIP_LOST (appended, outcome unknown), the new log is complete, the old tail is truncated', async () => {
    const c = (cluster = await Cluster.start([replicated('lc')]));
    await waitFor(() => produce(c.client(1), req('lc', 0, 'c0')).catch(() => undefined), 'leader serving');
    for (let i = 1; i < 5; i++) await produce(c.client(1), req('lc', 0, `c${i}`));
    // QUORUM needs one follower only: broker 2, elected below by hand, must hold every record first
    // (the real coordinator would elect the most complete voter; this test names one).
    await c.inSync(1, 'id-lc', 0, [1, 2, 3], 'both followers caught up', 5);
    // The leader is cut off from both followers (not from the coordinator) and takes a write it cannot commit.
    c.cut(1, 2);
    c.cut(1, 3);
    const pending = failure(produce(c.client(1), req('lc', 0, 'doomed', { timeoutMs: 20_000 })));
    await waitFor(async () => {
      const o = (await c.offsets(1, 'lc', 0)).partitions[0]!;
      return o.logEndOffset > o.highWatermark;
    }, 'uncommitted tail on the old leader');
    const answers = await c.coordinator.elect('lc', 0, 2, [2, 3]);
    expect(answers.every((a) => !(a instanceof Error) && a.promise !== null && a.promise !== undefined)).toBe(true);
    const err = (await pending) as grpc.ServiceError;
    expect(errorCode(err)).toBe('LEADERSHIP_LOST');
    expect(err.metadata.get(ERROR_METADATA.leaderId)).toEqual(['2']);
    expect(err.metadata.get(ERROR_METADATA.leaderAddress)).toEqual([c.brokers.get(2)!.address]);

    const after = await waitFor(() => produce(c.client(2), req('lc', 0, 'new-leader', { timeoutMs: 2_000 })).catch(() => undefined), 'new leader serving');
    expect(after.leaderEpoch).toBe(2);
    c.heal(1, 2);
    c.heal(1, 3);
    await produce(c.client(2), req('lc', 0, 'after-heal'));
    await c.inSync(2, 'id-lc', 0, [1, 2, 3], 'old leader caught up');
    const logs = await c.stopAndReadLogs('id-lc', 0);
    const lead = logs.get(2)!;
    const committed = values(lead.batches).map((s) => s.match(/c\d|new-leader|after-heal|doomed/)?.[0]);
    expect(committed).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'new-leader', 'after-heal']);
    for (const id of [1, 3]) expect(logs.get(id)!.batches.map((b) => b.toString('hex'))).toEqual(lead.batches.map((b) => b.toString('hex')));
  });

  it('a leader that promises a newer epoch (PrepareEpoch) fails its pending produces with LEADERSHIP_LOST naming the leader elected next', async () => {
    const c = (cluster = await Cluster.start([replicated('pp')]));
    await waitFor(() => produce(c.client(1), req('pp', 0, 'x')).catch(() => undefined), 'leader serving');
    await c.inSync(1, 'id-pp', 0, [1, 2, 3], 'broker 3, elected below by hand, caught up', 1);
    c.cut(1, 2);
    c.cut(1, 3);
    const pending = failure(produce(c.client(1), req('pp', 0, 'doomed', { timeoutMs: 20_000 })));
    await waitFor(async () => {
      const o = (await c.offsets(1, 'pp', 0)).partitions[0]!;
      return o.logEndOffset > o.highWatermark;
    }, 'uncommitted write on the leader');
    // Broker 1 is asked too: it steps down on the PrepareEpoch, before the metadata names broker 3.
    await c.coordinator.elect('pp', 0, 3, [1, 2, 3]);
    const err = (await pending) as grpc.ServiceError;
    expect(errorCode(err)).toBe('LEADERSHIP_LOST');
    expect(err.metadata.get(ERROR_METADATA.leaderId)).toEqual(['3']);
  });

  it('PrepareEpoch: answers with the durable log end, the promise survives a restart, lower epochs are rejected', async () => {
    const c = (cluster = await Cluster.start([replicated('pe')]));
    await waitFor(() => produce(c.client(1), req('pe', 0, 'x')).catch(() => undefined), 'leader serving');
    await c.inSync(1, 'id-pe', 0, [1, 2, 3], 'in sync');
    const found = c.coordinator.find('id-pe', 0)!;
    const promised = await c.coordinator.prepare(3, found.topic, found.info, 7);
    expect(promised.promise).toMatchObject({ epoch: 7, replicaId: 3, lastEpoch: 1, logEndOffset: 1 }); // 'x' at 0
    await c.stopBroker(3);
    await c.startBroker(3);
    const again = await c.coordinator.prepare(3, found.topic, found.info, 6);
    expect(again.rejected).toMatchObject({ epoch: 6, replicaId: 3, promisedEpoch: 7 });
    // A broker that never saw the partition opens it from the request.
    const fresh = await c.coordinator.prepare(2, { ...found.topic, topicId: 'id-new' }, found.info, 3);
    expect(fresh.promise).toMatchObject({ epoch: 3, replicaId: 2, lastEpoch: -1, logEndOffset: 0 });
    // The leader itself, asked to promise a newer epoch, stops taking writes at once.
    const leaderPromise = await c.coordinator.prepare(1, found.topic, found.info, 8);
    expect(leaderPromise.promise?.epoch).toBe(8);
    expect(errorCode(await failure(produce(c.client(1), req('pe', 0, 'fenced'))))).toBe('NOT_LEADER');
  });

  it('a restarted follower catches up; controlled shutdown moves leadership away first', async () => {
    const c = (cluster = await Cluster.start([replicated('rf')]));
    await waitFor(() => produce(c.client(1), req('rf', 0, 'before')).catch(() => undefined), 'leader serving');
    await c.stopBroker(3);
    for (let i = 0; i < 30; i++) await produce(c.client(1), req('rf', 0, `while-down-${i}`));
    await c.startBroker(3);
    await c.inSync(1, 'id-rf', 0, [1, 2, 3], 'restarted follower caught up');

    c.coordinator.moveOnShutdown = true;
    await c.stopBroker(1);
    expect(c.coordinator.shutdowns.map((s) => s.brokerId)).toContain(1);
    const moved = c.coordinator.find('id-rf', 0)!.info;
    expect(moved.leader).toBe(2);
    const res = await waitFor(() => produce(c.client(2), req('rf', 0, 'after-move', { timeoutMs: 2_000 })).catch(() => undefined), 'new leader serving');
    expect(res.leaderEpoch).toBe(moved.leaderEpoch);
    const logs = await c.stopAndReadLogs('id-rf', 0);
    const lead = logs.get(2)!;
    expect(values(lead.batches)).toHaveLength(32);
    expect(below(logs.get(3)!.batches, lead.hw).map((b) => b.toString('hex'))).toEqual(below(lead.batches, lead.hw).map((b) => b.toString('hex')));
  });

  /** Opens a Replicate stream to broker `id` as if from another broker, sends `frame`, then ends its side; resolves with how the call ended. */
  const rawReplicate = (c: Cluster, id: number, frame: ReplicateFrame): Promise<grpc.StatusObject> => {
    const Replication = runnelGrpc().runnel.v1.Replication;
    const client = new Replication(c.brokers.get(id)!.address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
    return new Promise<grpc.StatusObject>((resolve) => {
      const call = client.Replicate();
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (status: grpc.StatusObject) => {
        client.close();
        resolve(status);
      });
      call.write(frame);
      call.end();
    });
  };
  /** A cluster whose one partition of `name` (led by broker 1) holds one record on every replica. */
  const oneRecordInSync = async (name: string): Promise<Cluster> => {
    const c = (cluster = await Cluster.start([replicated(name)]));
    await waitFor(() => produce(c.client(1), req(name, 0, 'first')).catch(() => undefined), 'leader serving');
    await c.inSync(1, `id-${name}`, 0, [1, 2, 3], 'in sync', 1);
    return c;
  };
  const fetchFrom = (senderId: number, topicId: string) => ({
    topicId, partition: 0, fetchRequest: { epoch: 1, replicaId: senderId, fetchOffset: 0, lastFetchedEpoch: -1, durableOffset: 0 },
  });

  it('refuses a replication stream of another cluster (WRONG_CLUSTER); it never takes the place of the replica with the same id', async () => {
    const c = await oneRecordInSync('wc');
    // "Broker 2" of another cluster, e.g. a process that took over an address this leader is dialled on.
    const status = await rawReplicate(c, 1, { senderId: 2, clusterId: 'another-cluster', messages: [fetchFrom(2, 'id-wc')] });
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.metadata.get(ERROR_METADATA.code)).toEqual(['WRONG_CLUSTER']);
    expect(status.details).toContain('another-cluster');
    // QUORUM now rests on the real broker 2 alone: its fetches are still answered.
    c.cut(1, 3);
    expect((await produce(c.client(1), req('wc', 0, 'quorum-with-2', { timeoutMs: 5_000 }))).baseOffset).toBe(1);
  });

  it('answers a follower on the stream it used last: a second stream of the same broker id ending does not silence it', async () => {
    const c = await oneRecordInSync('ls');
    // Another stream claiming broker 2 (say, its previous incarnation's) carries one frame, then ends.
    const status = await rawReplicate(c, 1, { senderId: 2, clusterId: STUB_CLUSTER_ID, messages: [fetchFrom(2, 'id-unknown')] });
    expect(status.code).toBe(grpc.status.OK);
    c.cut(1, 3);
    expect((await produce(c.client(1), req('ls', 0, 'quorum-with-2', { timeoutMs: 5_000 }))).baseOffset).toBe(1);
  });

  it('refuses a PrepareEpoch of another cluster (WRONG_CLUSTER) and promises nothing', async () => {
    const c = await oneRecordInSync('pw');
    const found = c.coordinator.find('id-pw', 0)!;
    const Replication = runnelGrpc().runnel.v1.Replication;
    const raw = new Replication(c.brokers.get(3)!.address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
    const foreign = await failure(new Promise((resolve, reject) => raw.PrepareEpoch(
      { topicId: 'id-pw', topic: 'pw', partition: 0, epoch: 9, replicas: [1, 2, 3], clusterId: 'another-cluster' },
      (err, res) => (err ? reject(err) : resolve(res)),
    )));
    raw.close();
    expect(foreign.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCode(foreign)).toBe('WRONG_CLUSTER');
    // Epoch 9 was not promised: this cluster's coordinator still gets a promise for epoch 2.
    expect((await c.coordinator.prepare(3, found.topic, found.info, 2)).promise).toMatchObject({ epoch: 2, replicaId: 3 });
  });
});
