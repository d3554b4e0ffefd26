// Consumer-group bad input over raw gRPC, as a client in any language sends it: the right status
// and error code, a reason a person can act on, and nothing committed.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerClient, GroupSessionRequest, GroupSessionResponse__Output } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker, rawCoordinator, toFailure, unary, type CallFailure } from './grpc-raw.js';

const S = grpc.status;
const GROUP = 'billing';

interface Session {
  readonly call: grpc.ClientDuplexStream<GroupSessionRequest, GroupSessionResponse__Output>;
  readonly messages: GroupSessionResponse__Output[];
  ended: CallFailure | 'ok' | undefined;
}

function openSession(client: BrokerClient, first: GroupSessionRequest): Session {
  const call = client.GroupSession();
  const s: Session = { call, messages: [], ended: undefined };
  call.on('data', (m: GroupSessionResponse__Output) => s.messages.push(m));
  call.on('error', (e: grpc.ServiceError) => {
    s.ended ??= toFailure(e);
  });
  call.on('end', () => {
    s.ended ??= 'ok';
  });
  call.write(first);
  return s;
}

async function sessionFailure(client: BrokerClient, first: GroupSessionRequest, then?: GroupSessionRequest): Promise<CallFailure> {
  const s = openSession(client, first);
  if (then !== undefined) s.call.write(then);
  await waitFor(() => s.ended !== undefined, { timeoutMs: 10_000, description: 'the session to end' });
  s.call.end();
  if (s.ended === 'ok' || s.ended === undefined) throw new Error(`session ended without an error: ${JSON.stringify(s.messages)}`);
  return s.ended;
}

describe('consumer group bad input', () => {
  let cluster: Cluster;
  let brokers: Map<number, BrokerClient>;
  let coordinatorOfGroup: BrokerClient;
  let other: BrokerClient;
  let coordinatorId = -1;

  const committed = async (): Promise<Array<{ partition: number; offset: number }>> =>
    (await unary<object, { offsets: Array<{ partition: number; offset: number }> }>(coordinatorOfGroup, 'FetchOffsets', { group: GROUP })).offsets;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3 });
    const admin = rawCoordinator(cluster.bootstrap);
    await unary(admin, 'CreateTopic', { name: 'orders', partitions: 4 });
    admin.close();
    brokers = new Map(cluster.brokers.map((b) => [b.id, rawBroker(b.address)]));
    const found = await waitFor(() => unary<object, { brokerId: number }>(brokers.get(cluster.brokers[0]!.id)!, 'FindGroupCoordinator', { group: GROUP }), {
      timeoutMs: 20_000, description: 'a group coordinator',
    });
    coordinatorId = found.brokerId;
    coordinatorOfGroup = brokers.get(coordinatorId)!;
    other = [...brokers].find(([id]) => id !== coordinatorId)![1];
  });

  afterAll(async () => {
    for (const b of brokers?.values() ?? []) b.close();
    await cluster?.stopAll({ removeData: true });
  });

  it.each([
    ['DescribeGroup', { group: 'nobody' }],
    ['FetchOffsets', { group: 'nobody' }],
  ])('%s of an unknown group is NOT_FOUND UNKNOWN_GROUP', async (method, request) => {
    const f = await failure(coordinatorOfGroup, method, request);
    // The unknown group may hash to another broker: ask the one that coordinates it.
    if (f.errorCode === 'NOT_COORDINATOR') {
      const at = brokers.get(Number(f.leaderId))!;
      const g = await failure(at, method, request);
      expect([g.code, g.errorCode]).toEqual([S.NOT_FOUND, 'UNKNOWN_GROUP']);
      return;
    }
    expect([f.code, f.errorCode]).toEqual([S.NOT_FOUND, 'UNKNOWN_GROUP']);
    expect(f.details).toContain('nobody');
  });

  it.each([
    ['an empty group name', { group: '' }],
    ['a group name with a slash', { group: 'a/b' }],
    ['a 201-character group name', { group: 'g'.repeat(201) }],
  ])('FindGroupCoordinator with %s is INVALID_ARGUMENT INVALID_GROUP_NAME', async (_what, request) => {
    const f = await failure(other, 'FindGroupCoordinator', request);
    expect([f.code, f.errorCode]).toEqual([S.INVALID_ARGUMENT, 'INVALID_GROUP_NAME']);
  });

  it('a group call on a broker that does not coordinate the group names the one that does', async () => {
    const f = await failure(other, 'DescribeGroup', { group: GROUP });
    expect([f.code, f.errorCode, f.retriable]).toEqual([S.UNAVAILABLE, 'NOT_COORDINATOR', 'true']);
    expect(Number(f.leaderId)).toBe(coordinatorId);
    expect(f.leaderAddress).toBe(cluster.brokers.find((b) => b.id === coordinatorId)!.address);
  });

  it.each([
    ['a first message that is not join', { heartbeat: { sequence: 1 } }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
    ['no topics', { join: { group: GROUP, topics: [] } }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
    ['an unknown topic', { join: { group: GROUP, topics: ['nope'] } }, S.NOT_FOUND, 'UNKNOWN_TOPIC'],
    ['an internal topic', { join: { group: GROUP, topics: ['__offsets'] } }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
    ['a session timeout of 10 ms', { join: { group: GROUP, topics: ['orders'], sessionTimeoutMs: 10 } }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
    ['a bad member id', { join: { group: GROUP, topics: ['orders'], memberId: 'has space' } }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
  ])('a group session with %s is refused', async (_what, first, status, code) => {
    const f = await sessionFailure(coordinatorOfGroup, first as GroupSessionRequest);
    expect([f.code, f.errorCode]).toEqual([status, code]);
    expect(f.details.length).toBeGreaterThan(10);
  });

  it('a second join on the same session is refused', async () => {
    const join = { join: { group: 'twice', topics: ['orders'] } };
    const at = await unary<object, { brokerId: number }>(other, 'FindGroupCoordinator', { group: 'twice' });
    const f = await sessionFailure(brokers.get(at.brokerId)!, join, join);
    expect([f.code, f.errorCode]).toEqual([S.INVALID_ARGUMENT, 'INVALID_REQUEST']);
  });

  it('commits only partitions the member owns, only from members, and resets only an empty group', async () => {
    const s = openSession(coordinatorOfGroup, { join: { group: GROUP, topics: ['orders'], sessionTimeoutMs: 5_000, clientId: 'test' } });
    await waitFor(() => s.messages.some((m) => m.assignment !== null && m.assignment !== undefined), { timeoutMs: 10_000, description: 'an assignment' });
    const memberId = s.messages.find((m) => m.joined)!.joined!.memberId;
    const assigned = s.messages.find((m) => m.assignment)!.assignment!.assigned;
    expect(assigned).toHaveLength(4);
    await unary(coordinatorOfGroup, 'CommitOffsets', { group: GROUP, memberId, offsets: [{ topic: 'orders', partition: 0, offset: 0 }] });
    const before = await committed();

    // A second member takes half the partitions once the first confirms.
    const s2 = openSession(coordinatorOfGroup, { join: { group: GROUP, topics: ['orders'], sessionTimeoutMs: 5_000 } });
    await waitFor(() => s.messages.some((m) => (m.assignment?.revoke.length ?? 0) > 0), { timeoutMs: 10_000, description: 'a revocation' });
    const revoke = s.messages.find((m) => (m.assignment?.revoke.length ?? 0) > 0)!.assignment!.revoke;
    s.call.write({ revoked: { partitions: revoke } });
    await waitFor(() => s2.messages.some((m) => (m.assignment?.assigned.length ?? 0) === 2), { timeoutMs: 10_000, description: 'the second member\'s partitions' });
    const notMine = revoke[0]!;

    const cases: Array<[string, object, grpc.status, string]> = [
      ['a partition the member gave away', { group: GROUP, memberId, offsets: [{ topic: notMine.topic, partition: notMine.partition, offset: 1 }] }, S.FAILED_PRECONDITION, 'PARTITION_NOT_ASSIGNED'],
      ['an unknown member', { group: GROUP, memberId: 'ghost', offsets: [{ topic: 'orders', partition: 0, offset: 1 }] }, S.FAILED_PRECONDITION, 'UNKNOWN_MEMBER'],
      ['no member on a live group (reset)', { group: GROUP, memberId: '', offsets: [{ topic: 'orders', partition: 0, offset: 1 }] }, S.FAILED_PRECONDITION, 'GROUP_NOT_EMPTY'],
      ['an unknown partition', { group: GROUP, memberId, offsets: [{ topic: 'orders', partition: 9, offset: 1 }] }, S.NOT_FOUND, 'UNKNOWN_PARTITION'],
      ['an unknown topic', { group: GROUP, memberId, offsets: [{ topic: 'nope', partition: 0, offset: 1 }] }, S.NOT_FOUND, 'UNKNOWN_TOPIC'],
      ['a negative offset', { group: GROUP, memberId, offsets: [{ topic: 'orders', partition: 0, offset: -5 }] }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
      ['no offsets', { group: GROUP, memberId, offsets: [] }, S.INVALID_ARGUMENT, 'INVALID_REQUEST'],
    ];
    for (const [what, request, status, code] of cases) {
      const f = await failure(coordinatorOfGroup, 'CommitOffsets', request);
      expect([what, f.code, f.errorCode]).toEqual([what, status, code]);
    }
    expect(await committed()).toEqual(before);

    // Both leave: the group is empty, and an administrative commit (reset) is accepted.
    for (const x of [s, s2]) {
      x.call.write({ leave: {} });
      x.call.end();
    }
    await waitFor(async () => (await unary<object, { members: unknown[] }>(coordinatorOfGroup, 'DescribeGroup', { group: GROUP })).members.length === 0, {
      timeoutMs: 10_000, description: 'an empty group',
    });
    await unary(coordinatorOfGroup, 'CommitOffsets', { group: GROUP, memberId: '', offsets: [{ topic: 'orders', partition: 0, offset: 0 }, { topic: 'orders', partition: 1, offset: 0 }] });
    expect((await committed()).map((o) => o.partition)).toEqual([0, 1]);
  });

  it('a client cannot write to the internal __offsets topic', async () => {
    const f = await failure(coordinatorOfGroup, 'Produce', { topic: '__offsets', partition: 0, records: [{ value: Buffer.from('x') }] });
    expect([f.code, f.errorCode]).toEqual([S.INVALID_ARGUMENT, 'INVALID_TOPIC_NAME']);
  });

  it('a member silent past its session timeout is removed: its session ends with UNKNOWN_MEMBER', async () => {
    const s = openSession(coordinatorOfGroup, { join: { group: GROUP, topics: ['orders'], sessionTimeoutMs: 1_000 } });
    await waitFor(() => s.messages.some((m) => m.assignment), { timeoutMs: 10_000, description: 'an assignment' });
    // Silent for longer than the session timeout: removed; the next heartbeat is refused.
    await waitFor(async () => (await unary<object, { members: unknown[] }>(coordinatorOfGroup, 'DescribeGroup', { group: GROUP })).members.length === 0, {
      timeoutMs: 10_000, description: 'the silent member removed',
    });
    s.call.write({ heartbeat: { sequence: 7 } });
    await waitFor(() => s.ended !== undefined, { timeoutMs: 10_000, description: 'the session to end' });
    expect(s.ended).not.toBe('ok');
    expect((s.ended as CallFailure).errorCode).toBe('UNKNOWN_MEMBER');
  });
});
