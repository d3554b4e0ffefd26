import type { ClusterMetadata__Output, CoordinatorClient, PartitionInfo__Output } from '@runnel/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCoordinatorConfig, startCoordinator } from '../src/index.js';
import type { RunningCoordinator } from '../src/index.js';
import { call, coordinatorClient, expectCode, FakeBroker, Promiser, silentLog, tempDir, waitFor, Watcher } from './helpers.js';

const SESSION_TIMEOUT_MS = 400;
const HEARTBEAT_INTERVAL_MS = 100;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(dir: string, sessionTimeoutMs = SESSION_TIMEOUT_MS): Promise<{ coordinator: RunningCoordinator; client: CoordinatorClient }> {
  const config = parseCoordinatorConfig({ dataDir: dir, port: 0, sessionTimeoutMs, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, logLevel: 'silent' });
  const coordinator = await startCoordinator(config, silentLog);
  const client = coordinatorClient(coordinator.address);
  cleanups.push(() => coordinator.close());
  cleanups.push(() => client.close());
  return { coordinator, client };
}

async function setup(sessionTimeoutMs = SESSION_TIMEOUT_MS): Promise<{ dir: string; coordinator: RunningCoordinator; client: CoordinatorClient }> {
  const tmp = await tempDir();
  cleanups.push(() => tmp.remove());
  return { dir: tmp.dir, ...(await start(tmp.dir, sessionTimeoutMs)) };
}

function broker(client: CoordinatorClient, id: number, rack = ''): FakeBroker {
  const b = new FakeBroker(client, id, `127.0.0.1:${9000 + id}`, rack);
  cleanups.push(() => b.close());
  return b;
}

/** PrepareEpoch servers of brokers 1..n (elections need their promises), stopped after the test. */
async function promisers(n: number): Promise<Promiser[]> {
  const out: Promiser[] = [];
  for (let id = 1; id <= n; id++) {
    const p = await Promiser.start(id);
    cleanups.push(() => p.close());
    out.push(p);
  }
  return out;
}

/** A broker whose PrepareEpoch is served by `p`. */
function electable(client: CoordinatorClient, p: Promiser, incarnation?: string): FakeBroker {
  const b = new FakeBroker(client, p.brokerId, p.address, '', incarnation);
  cleanups.push(() => b.close());
  return b;
}

const describeCluster = (c: CoordinatorClient): Promise<ClusterMetadata__Output> => call(c.describeCluster.bind(c), {});
const alive = (m: ClusterMetadata__Output, id: number): boolean | undefined => m.brokers.find((b) => b.id === id)?.alive;
const partitionOf = (m: ClusterMetadata__Output, topic: string, p: number): PartitionInfo__Output | undefined =>
  m.topics.find((t) => t.name === topic)?.partitions[p];

describe('coordinator over gRPC', () => {
  it('registers a broker; heartbeats are acknowledged with the metadata version', async () => {
    const { client } = await setup();
    const b = broker(client, 1);
    const res = await b.register();
    expect(res).toMatchObject({ heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, sessionTimeoutMs: SESSION_TIMEOUT_MS });
    expect(res.metadata?.brokers).toEqual([{ id: 1, address: '127.0.0.1:9001', alive: true, rack: '' }]);
    b.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    await waitFor('an ack', () => b.acks.length >= 2);
    const m = await describeCluster(client);
    expect(b.acks.at(-1)?.metadataVersion).toBe(m.version);
    expect(alive(m, 1)).toBe(true);
    expect(m.clusterId).toMatch(/^[0-9a-f-]{36}$/);
    // Registering again with the same incarnation changes nothing.
    await b.register();
    expect((await describeCluster(client)).version).toBe(m.version);
  });

  it('declares a silent broker dead within the session timeout and tells watchers', async () => {
    const { client } = await setup();
    const b = broker(client, 1);
    await b.register();
    b.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    await waitFor('an ack', () => b.acks.length >= 1);
    const watcher = new Watcher(client);
    cleanups.push(() => watcher.cancel());
    await watcher.waitFor('broker 1 alive', (m) => alive(m, 1) === true);
    const stoppedAt = Date.now();
    b.stopTimer();
    const m = await watcher.waitFor('broker 1 dead', (s) => alive(s, 1) === false, 3000);
    expect(Date.now() - stoppedAt).toBeLessThan(SESSION_TIMEOUT_MS + 500);
    expect(m.version).toBeGreaterThan(watcher.snapshots[0]?.version ?? Infinity);
    await waitFor('the heartbeat stream to fail', () => b.streamError);
    expect(b.streamError?.metadata.get('runnel-error-code')).toEqual(['UNKNOWN_BROKER']);
  });

  it('declares a broker dead as soon as its heartbeat stream ends or is cancelled', async () => {
    const { client } = await setup(5000);
    const a = broker(client, 1);
    const b = broker(client, 2);
    for (const x of [a, b]) {
      await x.register();
      x.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    }
    await waitFor('acks', () => a.acks.length >= 1 && b.acks.length >= 1);
    const t0 = Date.now();
    a.endStream();
    b.cancelStream();
    const watcher = new Watcher(client);
    cleanups.push(() => watcher.cancel());
    await watcher.waitFor('both dead', (m) => alive(m, 1) === false && alive(m, 2) === false, 2000);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('fails heartbeats from unknown brokers and from an old incarnation with UNKNOWN_BROKER', async () => {
    const { client } = await setup(5000);
    const stranger = broker(client, 7);
    stranger.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    await waitFor('the stranger to be refused', () => stranger.streamError);
    expect(stranger.streamError?.metadata.get('runnel-error-code')).toEqual(['UNKNOWN_BROKER']);

    const old = broker(client, 1);
    await old.register();
    old.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    await waitFor('an ack', () => old.acks.length >= 1);
    const restarted = broker(client, 1);
    await restarted.register();
    restarted.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    await waitFor('the old incarnation to be refused', () => old.streamError);
    expect(old.streamError?.metadata.get('runnel-error-code')).toEqual(['UNKNOWN_BROKER']);
    await waitFor('the new incarnation acked', () => restarted.acks.length >= 2);
    expect(alive(await describeCluster(client), 1)).toBe(true);
  });

  it('creates, lists, describes and deletes topics', async () => {
    const { client } = await setup(5000);
    for (const p of await promisers(3)) await electable(client, p).register();
    // Replication factor 0: min(3, live brokers). CreateTopic answers once every partition has its first leader.
    const info = await call(client.createTopic.bind(client), { name: 'orders', partitions: 12, replicationFactor: 0 });
    expect(info).toMatchObject({
      name: 'orders', replicationFactor: 3,
      config: { retentionMs: 7 * 24 * 3600 * 1000, retentionBytes: -1, maxMessageBytes: 1024 * 1024, cleanupPolicy: 'CLEANUP_POLICY_DELETE' },
    });
    expect(info.topicId).toMatch(/^[0-9a-f-]{36}$/);
    expect(info.partitions.map((p) => p.leader)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    expect(info.partitions.every((p) => p.leaderEpoch === 1 && p.state === 'PARTITION_STATE_ONLINE' && p.replicas.length === 3 && p.replicas[0] === p.leader)).toBe(true);
    await call(client.createTopic.bind(client), { name: 'audit', partitions: 1, replicationFactor: 1, config: { retentionMs: -1, maxMessageBytes: 100 } });
    const list = await call(client.listTopics.bind(client), {});
    expect(list.topics.map((t) => t.name)).toEqual(['audit', 'orders']);
    expect(await call(client.describeTopic.bind(client), { name: 'orders' })).toEqual(info);
    await call(client.deleteTopic.bind(client), { name: 'orders' });
    await expectCode(call(client.describeTopic.bind(client), { name: 'orders' }), 'UNKNOWN_TOPIC');
    // Re-created under the same name: a new topic id.
    const again = await call(client.createTopic.bind(client), { name: 'orders', partitions: 1, replicationFactor: 1 });
    expect(again.topicId).not.toBe(info.topicId);
  });

  it('refuses bad topic requests with their codes and changes nothing', async () => {
    const { client } = await setup(5000);
    await expectCode(call(client.createTopic.bind(client), { name: 't', partitions: 1, replicationFactor: 1 }), 'NOT_ENOUGH_BROKERS');
    const [p1] = await promisers(1);
    await electable(client, p1!).register();
    await call(client.createTopic.bind(client), { name: 'exists', partitions: 2, replicationFactor: 1 });
    const before = await describeCluster(client);
    const create = (req: object): Promise<unknown> => call(client.createTopic.bind(client), { name: 'fresh', partitions: 1, replicationFactor: 1, ...req });
    await expectCode(create({ name: 'bad name' }), 'INVALID_TOPIC_NAME');
    await expectCode(create({ name: 'exists' }), 'TOPIC_ALREADY_EXISTS');
    await expectCode(create({ partitions: 0 }), 'INVALID_PARTITIONS');
    await expectCode(create({ partitions: 10_001 }), 'INVALID_PARTITIONS');
    await expectCode(create({ replicationFactor: 6 }), 'INVALID_REPLICATION_FACTOR');
    await expectCode(create({ replicationFactor: -1 }), 'INVALID_REPLICATION_FACTOR');
    const short = await expectCode(create({ replicationFactor: 3 }), 'NOT_ENOUGH_BROKERS');
    expect(short.message).toBe('replication factor 3 needs 3 live broker(s); 1 alive');
    expect(short.grpcStatus).toBe(9); // FAILED_PRECONDITION
    await expectCode(create({ config: { retentionMs: -7 } }), 'INVALID_CONFIG');
    await expectCode(create({ config: { retentionBytes: -2 } }), 'INVALID_CONFIG');
    await expectCode(create({ config: { maxMessageBytes: 8 * 1024 * 1024 + 1 } }), 'INVALID_CONFIG');
    await expectCode(call(client.deleteTopic.bind(client), { name: 'nope' }), 'UNKNOWN_TOPIC');
    await expectCode(call(client.describeTopic.bind(client), { name: 'nope' }), 'UNKNOWN_TOPIC');
    await expectCode(call(client.registerBroker.bind(client), { brokerId: 0, address: 'h:1', rack: '', incarnation: 'x' }), 'INVALID_REQUEST');
    await expectCode(call(client.registerBroker.bind(client), { brokerId: 2, address: 'nohost', rack: '', incarnation: 'x' }), 'INVALID_REQUEST');
    expect(await describeCluster(client)).toEqual(before);
  });

  it('takes a single-replica partition offline when its broker dies and back online with epoch + 1', async () => {
    const { client } = await setup();
    const [p1, p2] = await promisers(2);
    const a = electable(client, p1!);
    const b = electable(client, p2!);
    for (const x of [a, b]) {
      await x.register();
      x.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    }
    await call(client.createTopic.bind(client), { name: 't', partitions: 2, replicationFactor: 1 });
    const watcher = new Watcher(client);
    cleanups.push(() => watcher.cancel());
    a.cancelStream();
    let m = await watcher.waitFor('t/0 offline', (s) => partitionOf(s, 't', 0)?.state === 'PARTITION_STATE_OFFLINE');
    expect(partitionOf(m, 't', 0)).toMatchObject({ leader: -1, leaderEpoch: 1, replicas: [1] });
    expect(partitionOf(m, 't', 1)).toMatchObject({ leader: 2, leaderEpoch: 1, state: 'PARTITION_STATE_ONLINE' });
    // It comes back (a new process: new incarnation).
    const a2 = electable(client, p1!);
    await a2.register();
    a2.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    m = await watcher.waitFor('t/0 online', (s) => partitionOf(s, 't', 0)?.state === 'PARTITION_STATE_ONLINE');
    expect(partitionOf(m, 't', 0)).toMatchObject({ leader: 1, leaderEpoch: 2 });
    // A restart the coordinator only learns of by the new registration also starts a new epoch.
    const a3 = electable(client, p1!);
    await a3.register();
    a3.startHeartbeats(HEARTBEAT_INTERVAL_MS);
    m = await watcher.waitFor('t/0 at epoch 3', (s) => partitionOf(s, 't', 0)?.leaderEpoch === 3);
    expect(partitionOf(m, 't', 0)).toMatchObject({ leader: 1, state: 'PARTITION_STATE_ONLINE' });
    expect(partitionOf(m, 't', 1)).toMatchObject({ leader: 2, leaderEpoch: 1 });
    // Every epoch was promised by the replica before it was handed out.
    expect(p1!.promised.filter((x) => x.partition === 0).map((x) => x.epoch)).toEqual([1, 2, 3]);
  });

  it('keeps topics, epochs, cluster id and version across a restart; brokers come back not-alive', async () => {
    const tmp = await tempDir();
    cleanups.push(() => tmp.remove());
    const first = await start(tmp.dir, 5000);
    const [p1, p2] = await promisers(2);
    const a = new FakeBroker(first.client, 1, p1!.address);
    const b = new FakeBroker(first.client, 2, p2!.address);
    await a.register();
    await b.register();
    await call(first.client.createTopic.bind(first.client), { name: 't', partitions: 4, replicationFactor: 1, config: { retentionBytes: 1000 } });
    await a.register(); // no change
    a.incarnation = 'restarted';
    await a.register(); // a new election (epoch 2) for partitions led by broker 1
    const epochs = async (): Promise<number[] | undefined> => (await describeCluster(first.client)).topics[0]?.partitions.map((p) => p.leaderEpoch);
    await waitFor('epoch 2 for broker 1', async () => JSON.stringify(await epochs()) === '[2,1,2,1]');
    const before = await describeCluster(first.client);
    first.client.close();
    await first.coordinator.close();

    const second = await start(tmp.dir, 5000);
    const after = await describeCluster(second.client);
    expect(after.clusterId).toBe(before.clusterId);
    expect(after.topics).toEqual(before.topics);
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.brokers.map((x) => [x.id, x.alive])).toEqual([[1, false], [2, false]]);
    // Re-registering with the same incarnation (the broker did not restart) keeps the epochs.
    const a2 = new FakeBroker(second.client, 1, a.address, '', 'restarted');
    await a2.register();
    const m = await describeCluster(second.client);
    expect(alive(m, 1)).toBe(true);
    expect(m.topics[0]?.partitions.map((p) => [p.leader, p.leaderEpoch, p.state])).toEqual([
      [1, 2, 'PARTITION_STATE_ONLINE'], [2, 1, 'PARTITION_STATE_ONLINE'], [1, 2, 'PARTITION_STATE_ONLINE'], [2, 1, 'PARTITION_STATE_ONLINE'],
    ]);
    expect(m.topics[0]?.config?.retentionBytes).toBe(1000);
  });

  it('after a restart, reassigns the leaderships of brokers that do not come back within the session timeout', async () => {
    const tmp = await tempDir();
    cleanups.push(() => tmp.remove());
    const first = await start(tmp.dir, 5000);
    const [p1] = await promisers(1);
    const a = new FakeBroker(first.client, 1, p1!.address);
    await a.register();
    await call(first.client.createTopic.bind(first.client), { name: 't', partitions: 1, replicationFactor: 1 });
    first.client.close();
    await first.coordinator.close();

    const second = await start(tmp.dir);
    const watcher = new Watcher(second.client);
    cleanups.push(() => watcher.cancel());
    const restartedAt = Date.now();
    const off = await watcher.waitFor('t/0 offline', (s) => partitionOf(s, 't', 0)?.state === 'PARTITION_STATE_OFFLINE', 3000);
    expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 150);
    expect(partitionOf(off, 't', 0)).toMatchObject({ leader: -1, leaderEpoch: 1 });
    const a2 = new FakeBroker(second.client, 1, a.address, '', a.incarnation);
    await a2.register();
    const on = await watcher.waitFor('t/0 online', (s) => partitionOf(s, 't', 0)?.state === 'PARTITION_STATE_ONLINE');
    expect(partitionOf(on, 't', 0)).toMatchObject({ leader: 1, leaderEpoch: 2 });

    // A third start: the epoch handed out is never reused.
    second.client.close();
    await second.coordinator.close();
    const third = await start(tmp.dir);
    const m = await describeCluster(third.client);
    expect(partitionOf(m, 't', 0)).toMatchObject({ leaderEpoch: 2 });
  });
  it('controlled shutdown moves leaderships to the other replicas through a new epoch; a declined leadership is elected again', async () => {
    const { client } = await setup(5000);
    const ps = await promisers(3);
    const brokers = ps.map((p) => electable(client, p));
    for (const b of brokers) await b.register();
    const info = await call(client.createTopic.bind(client), { name: 'moving', partitions: 3, replicationFactor: 3 });
    expect(info.partitions.map((p) => [p.leader, p.leaderEpoch])).toEqual([[1, 1], [2, 1], [3, 1]]);

    const res = await call(client.controlledShutdown.bind(client), { brokerId: 1, incarnation: brokers[0]!.incarnation });
    expect(res.leadershipsRemaining).toBe(0);
    const moved = partitionOf(await describeCluster(client), 'moving', 0);
    expect(moved?.leader).not.toBe(1);
    expect(moved?.leaderEpoch).toBe(2);
    // Broker 1 was asked to promise epoch 2 as well: promising fences its old leadership at once.
    expect(ps[0]!.promised.some((x) => x.partition === 0 && x.epoch === 2)).toBe(true);

    // The new leader declines (as a restarted replica would): a third epoch, another election.
    await call(client.declineLeadership.bind(client), { brokerId: moved!.leader, incarnation: brokers[moved!.leader - 1]!.incarnation, topicId: info.topicId, partition: 0, epoch: 2 });
    await waitFor('epoch 3 for moving/0', async () => partitionOf(await describeCluster(client), 'moving', 0)?.leaderEpoch === 3);

    // Bad input changes nothing.
    const before = await describeCluster(client);
    await expectCode(call(client.controlledShutdown.bind(client), { brokerId: 2, incarnation: 'not-its-incarnation' }), 'UNKNOWN_BROKER');
    await expectCode(call(client.controlledShutdown.bind(client), { brokerId: 9, incarnation: 'x' }), 'UNKNOWN_BROKER');
    await expectCode(call(client.declineLeadership.bind(client), { brokerId: 2, incarnation: 'nope', topicId: info.topicId, partition: 0, epoch: 3 }), 'UNKNOWN_BROKER');
    await expectCode(call(client.declineLeadership.bind(client), { brokerId: 2, incarnation: brokers[1]!.incarnation, topicId: info.topicId, partition: 7, epoch: 3 }), 'UNKNOWN_PARTITION');
    expect(await describeCluster(client)).toEqual(before);
  });
});
