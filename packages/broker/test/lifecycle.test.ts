import { afterEach, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { ERROR_METADATA } from '@runnel/protocol';
import type { FetchResponse__Output, ListOffsetsResponse__Output, SubscribeResponse__Output } from '@runnel/protocol';
import { errorCode, failure, produce, startHarness, topic, unary, value, waitFor } from './helpers.js';
import type { Harness } from './helpers.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const fetchAll = (hh: Harness, t: string, p: number, offset = 0): Promise<FetchResponse__Output> =>
  unary(hh.client.Fetch.bind(hh.client), { topic: t, partition: p, offset });
const offsets = (hh: Harness, t: string, p: number): Promise<ListOffsetsResponse__Output> =>
  unary(hh.client.ListOffsets.bind(hh.client), { topic: t, partitions: [p] });

describe('broker lifecycle', () => {
  it('keeps records across a restart on the same data dir', async () => {
    h = await startHarness([topic({ name: 'keep', partitions: 1 })]);
    await produce(h.client, { topic: 'keep', partition: 0, records: [value('a'), value('b')] });
    await produce(h.client, { topic: 'keep', partition: 0, records: [value('c')] });
    await h.restart();
    const res = await fetchAll(h, 'keep', 0);
    // A new partition starts at offset 0 (no control batch over an empty log); the control batch at 3
    // (epoch 2: re-elected after the restart, over a non-empty log) is never delivered.
    expect(res.highWatermark).toBe(4);
    expect(res.batches.flatMap((b) => b.records!.records.map((r) => r.value.toString()))).toEqual(['a', 'b', 'c']);
    expect((await produce(h.client, { topic: 'keep', partition: 0, records: [value('d')] })).baseOffset).toBe(4);
    expect(h.coordinator.registrations.length).toBe(2);
    expect(new Set(h.coordinator.registrations.map((r) => r.incarnation)).size).toBe(2);
  });

  it('follows leadership: NOT_LEADER with trailers when it moves, leads again at the new epoch', async () => {
    h = await startHarness([topic({ name: 'move', partitions: 1 })]);
    h.coordinator.addBroker(2, '10.0.0.2:7402');
    await produce(h.client, { topic: 'move', partition: 0, records: [value('x')] });
    await h.coordinator.setTopics([topic({ name: 'move', partitions: 1, leaders: [2], epoch: 2 })]);
    await waitFor(() => offsets(h!, 'move', 0).then(() => false, (e: grpc.ServiceError) => errorCode(e) === 'NOT_LEADER'), 'NOT_LEADER on a read');
    const err = await failure(produce(h.client, { topic: 'move', partition: 0, records: [value('y')] }));
    expect(errorCode(err)).toBe('NOT_LEADER');
    expect(err.metadata.get(ERROR_METADATA.leaderId)).toEqual(['2']);
    expect(err.metadata.get(ERROR_METADATA.leaderAddress)).toEqual(['10.0.0.2:7402']);
    expect((await offsets(h, 'move', 0).catch((e: grpc.ServiceError) => errorCode(e)))).toBe('NOT_LEADER');

    // A stale snapshot (lower version) is ignored; a newer one hands leadership back at epoch 3.
    await h.coordinator.setTopics([topic({ name: 'move', partitions: 1, leaders: [1], epoch: 3 })]);
    const res = await waitFor(() => produce(h!.client, { topic: 'move', partition: 0, records: [value('z')] }).catch(() => undefined), 'leading again');
    // 'x' at 0 (epoch 1 over an empty log); epoch 3 starts with its control batch at 1.
    expect(res).toMatchObject({ baseOffset: 2, leaderEpoch: 3 });
    const fetched = await fetchAll(h, 'move', 0);
    expect(fetched.batches.map((b) => [b.baseOffset, b.leaderEpoch])).toEqual([[0, 1], [2, 3]]);
    expect((await offsets(h, 'move', 0)).partitions[0]!.leaderEpoch).toBe(3);
  });

  it('drops a deleted topic and never confuses it with a re-created one; keeps orphans at startup', async () => {
    h = await startHarness([topic({ name: 'gone', partitions: 1, topicId: 'gone-1' }), topic({ name: 'orphan', partitions: 1, topicId: 'orphan-1' })]);
    await produce(h.client, { topic: 'gone', partition: 0, records: [value('a'), value('b')] });
    await produce(h.client, { topic: 'orphan', partition: 0, records: [value('kept')] });
    await h.coordinator.setTopics([topic({ name: 'orphan', partitions: 1, topicId: 'orphan-1' })]);
    await waitFor(() => produce(h!.client, { topic: 'gone', partition: 0, records: [value('x')] }).then(() => false, (e: grpc.ServiceError) => errorCode(e) === 'UNKNOWN_TOPIC'), 'UNKNOWN_TOPIC');
    await h.coordinator.setTopics([topic({ name: 'orphan', partitions: 1, topicId: 'orphan-1' }), topic({ name: 'gone', partitions: 1, topicId: 'gone-2' })]);
    const res = await waitFor(() => produce(h!.client, { topic: 'gone', partition: 0, records: [value('new')] }).catch(() => undefined), 'recreated topic');
    expect(res.baseOffset).toBe(0); // a fresh log: the deleted 'gone' already had 'a', 'b' at 0-1

    // Restart while the coordinator does not know 'orphan' (the running broker never saw it
    // deleted): its data must survive.
    await h.coordinator.setTopics([topic({ name: 'gone', partitions: 1, topicId: 'gone-2' })], { push: false });
    await h.restart();
    await h.coordinator.setTopics([topic({ name: 'gone', partitions: 1, topicId: 'gone-2' }), topic({ name: 'orphan', partitions: 1, topicId: 'orphan-1' })]);
    const kept = await waitFor(() => fetchAll(h!, 'orphan', 0).catch(() => undefined), 'orphan served again');
    expect(kept.batches.flatMap((b) => b.records!.records.map((r) => r.value.toString()))).toEqual(['kept']);
    // Named leader of an epoch it had promised before the restart, the broker declined; the
    // coordinator re-elected it at a new epoch.
    expect(h.coordinator.declines.map((d) => [d.topicId, d.epoch])).toContainEqual(['orphan-1', 1]);
  });

  it('registers again after UNKNOWN_BROKER and keeps serving while the coordinator is away', async () => {
    h = await startHarness([topic({ name: 'hb', partitions: 1 })]);
    await waitFor(() => h!.coordinator.heartbeats >= 2, 'heartbeats');
    h.coordinator.rejectHeartbeats();
    await waitFor(() => h!.coordinator.registrations.length >= 2, 're-registration');
    const beats = h.coordinator.heartbeats;
    await waitFor(() => h!.coordinator.heartbeats > beats, 'heartbeats after re-registering');
    h.coordinator.close();
    expect((await produce(h.client, { topic: 'hb', partition: 0, records: [value('still')] })).baseOffset).toBe(0);
  });

  it('close() ends subscriptions with SHUTTING_DOWN', async () => {
    h = await startHarness([topic({ name: 'bye', partitions: 1 })]);
    const call = h.client.Subscribe();
    const first = new Promise<void>((resolve) => call.once('data', (_m: SubscribeResponse__Output) => resolve()));
    const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    call.on('data', () => undefined);
    call.write({ start: { topic: 'bye', partition: 0, position: { latest: true }, credit: { bytes: 100, records: 1 } } });
    await first;
    const closing = h.broker.close();
    const err = await ended;
    expect(errorCode(err)).toBe('SHUTTING_DOWN');
    await closing;
    const after = await failure(produce(h.client, { topic: 'bye', partition: 0, records: [value('x')] }, ));
    expect(after).toBeDefined();
    h.client.close();
    h.coordinator.close();
    h = undefined;
  });

  it('applies retention below the HW on its interval', async () => {
    h = await startHarness([topic({ name: 'ret', partitions: 1, retentionBytes: 1 })], { retentionCheckIntervalMs: 20 });
    for (let i = 0; i < 3; i++) await produce(h.client, { topic: 'ret', partition: 0, records: [value(`r${i}`)] });
    const lso = await waitFor(async () => {
      const p = (await offsets(h!, 'ret', 0)).partitions[0]!;
      return p.logStartOffset > 0 ? p.logStartOffset : undefined;
    }, 'log start offset to advance');
    expect(lso).toBeGreaterThan(0);
    const err = await failure(fetchAll(h, 'ret', 0, 0));
    expect(errorCode(err)).toBe('OFFSET_OUT_OF_RANGE');
  });
});
