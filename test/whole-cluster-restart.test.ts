// kill -9 of every broker at once under QUORUM load, then a restart of them all, while a consumer
// reads. A new leader starts with the high watermark it had checkpointed, which can be below what
// consumers were already shown (the checkpoint lags), and it commits nothing until a follower has
// its epoch-start marker. The broker-to-broker links stay cut for a moment after the restart, so
// that window is held open: a subscriber resuming at its position (at or below the log end, above
// the HW) must wait, not fail with OFFSET_OUT_OF_RANGE, and the consumer misses nothing.
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@runnel/testkit';
import type { ConsumedRecord } from '@runnel/client';
import type { BrokerClient, SubscribeRequest, SubscribeResponse__Output } from '@runnel/protocol';
import { failure, rawBroker, unary } from './grpc-raw.js';
import { replicatedClusterFixture } from './support/replicated-cluster.js';
import { readReplicaLog } from './support/replica-log.js';

const PARTITIONS = 3;

interface PartitionOffsets {
  readonly highWatermark: number;
  readonly logEndOffset: number;
}

/** A raw Subscribe call: its messages and its error, if any. */
function rawSubscribe(client: BrokerClient, first: SubscribeRequest): { call: grpc.ClientDuplexStream<SubscribeRequest, SubscribeResponse__Output>; received: SubscribeResponse__Output[]; error: () => grpc.ServiceError | undefined } {
  const call = client.Subscribe();
  const received: SubscribeResponse__Output[] = [];
  let error: grpc.ServiceError | undefined;
  call.on('data', (m: SubscribeResponse__Output) => received.push(m));
  call.on('error', (e: grpc.ServiceError) => {
    error = e;
  });
  call.write(first);
  return { call, received, error: () => error };
}

describe('whole-cluster restart', () => {
  const fixture = replicatedClusterFixture({ networkFaults: true });

  it('a consumer resumes after every broker is killed and restarted at once, with no error and nothing missed', async () => {
    const { cluster, client, topic, producer, load } = await fixture.startUnderLoad('wcr', { partitions: PARTITIONS, workers: 6, acksBefore: 600 });
    const network = cluster.network!;
    const consumer = client.consumer({ topic: 'wcr', from: 'earliest' });
    const read = new Map<number, ConsumedRecord[]>(Array.from({ length: PARTITIONS }, (_, p) => [p, []]));
    let consumerError: unknown;
    const reading = (async () => {
      try {
        for await (const r of consumer) read.get(r.partition)!.push(r);
      } catch (err) {
        consumerError = err;
      }
    })();
    const readCount = (): number => [...read.values()].reduce((n, rs) => n + rs.length, 0);
    const lastRead = (p: number): number => read.get(p)!.at(-1)?.offset ?? -1;
    /** True once every record acknowledged so far has been read (or the consumer failed). */
    const caughtUp = (): boolean => {
      if (consumerError !== undefined) return true;
      for (const a of load.acked.values()) if (a.offset > lastRead(a.partition)) return false;
      return true;
    };
    await waitFor(() => readCount() >= 500, { timeoutMs: 30_000, description: 'the consumer reading before the crash' });

    await Promise.all(cluster.brokers.map((b) => cluster.kill(b)));
    const ackedAtCrash = load.acked.size;
    const resumeAt = Array.from({ length: PARTITIONS }, (_, p) => lastRead(p) + 1);
    const brokerIds = cluster.brokers.map((b) => b.id);
    for (const a of brokerIds) for (const b of brokerIds) if (a < b) network.cut(`broker-${a}`, `broker-${b}`);
    await Promise.all(cluster.brokers.map((b) => cluster.restart(b)));

    // Each partition's new leader, and its offsets while no follower can reach it.
    const { addressMap } = cluster.clientOptions();
    const leaders: BrokerClient[] = [];
    const offsetsAtStart: PartitionOffsets[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const found = await waitFor(async () => {
        const info = (await client.admin.describeTopic('wcr')).partitions.find((x) => x.partition === p);
        const address = cluster.brokers.find((b) => b.id === info?.leader)?.address;
        if (address === undefined) return false;
        const leader = rawBroker(addressMap[address] ?? address);
        try {
          const r = await unary<object, { partitions: PartitionOffsets[] }>(leader, 'ListOffsets', { topic: 'wcr', partitions: [p] });
          return { leader, offsets: r.partitions[0]! };
        } catch {
          leader.close();
          return false;
        }
      }, { timeoutMs: 30_000, intervalMs: 100, description: `a leader of wcr/${p} after the restart` });
      leaders.push(found.leader);
      offsetsAtStart.push(found.offsets);
    }
    // Where a consumer resumes (where it stopped reading) and the log end (the most any consumer
    // can have been shown): both are at or below the new leader's log end, so neither is out of
    // range. The log end is above the HW here (the epoch-start marker is not committed yet).
    const starts = offsetsAtStart.flatMap((o, p) => [...new Set([resumeAt[p]!, o.logEndOffset])].map((offset) => ({ p, offset })));
    expect(offsetsAtStart.every((o) => o.highWatermark < o.logEndOffset), JSON.stringify(offsetsAtStart)).toBe(true);
    // A Fetch that cannot wait there is told to retry (retriable, not out of range).
    for (let p = 0; p < PARTITIONS; p++) {
      const f = await failure(leaders[p]!, 'Fetch', { topic: 'wcr', partition: p, offset: offsetsAtStart[p]!.logEndOffset, maxWaitMs: 0 });
      expect([f.errorCode, f.retriable]).toEqual(['OFFSET_NOT_AVAILABLE', 'true']);
    }
    // A subscriber waits for the HW: the first answer names its start offset, and no error comes.
    const subs = starts.map(({ p, offset }) => rawSubscribe(leaders[p]!, { start: { topic: 'wcr', partition: p, position: { offset }, credit: { bytes: 1 << 20, records: 1000 } } }));
    await waitFor(() => subs.every((s) => s.received.length > 0 || s.error() !== undefined), { timeoutMs: 10_000, description: 'first Subscribe answers' });
    expect(subs.map((s) => s.error()?.details)).toEqual(subs.map(() => undefined));
    expect(subs.map((s) => s.received[0]!.startOffset)).toEqual(starts.map((s) => s.offset));

    network.heal();
    // Once the followers are back, the HW passes each position and the subscribers move past it.
    const passed = (s: (typeof subs)[number]): boolean => s.received.some((m) => m.batches.some((b) => b.baseOffset + b.recordCount > s.received[0]!.startOffset) || m.nextOffset > s.received[0]!.startOffset);
    await waitFor(
      () => subs.every((s) => s.error() !== undefined || passed(s)),
      { timeoutMs: 30_000, description: 'raw subscribers receiving records after the heal' },
    );
    // A leader cut off from its followers for the isolation period (3 s) may have its leadership
    // moved once they are back, ending its raw subscribers with NOT_LEADER (retriable: the client
    // follows it, and is checked below). No other error may come, OFFSET_OUT_OF_RANGE least of all.
    const codeOf = (e: grpc.ServiceError): string => String(e.metadata?.get('runnel-error-code')[0] ?? e.code);
    expect(subs.flatMap((s) => { const e = s.error(); return e === undefined || codeOf(e) === 'NOT_LEADER' ? [] : [`${codeOf(e)}: ${e.details}`]; })).toEqual([]);
    for (const s of subs) s.call.cancel();
    for (const l of leaders) l.close();

    await waitFor(() => consumerError !== undefined || load.acked.size >= ackedAtCrash + 600, { timeoutMs: 60_000, description: 'produce progress after the restart' });
    await load.stop();
    await producer.close();
    await waitFor(caughtUp, { timeoutMs: 30_000, description: 'the consumer reading every acknowledged record' });
    await consumer.close();
    await reading;
    expect(consumerError).toBeUndefined();

    // Every acknowledged record was read at its offset, in offset order, once.
    for (const [p, records] of read) {
      const offsets = records.map((r) => r.offset);
      expect(offsets, `partition ${p} offsets strictly increase`).toEqual([...new Set(offsets)].sort((a, b) => a - b));
    }
    for (const [value, a] of load.acked) {
      const got = read.get(a.partition)!.find((r) => r.offset === a.offset);
      expect(got?.value.toString(), `acknowledged ${value} at ${a.partition}/${a.offset}`).toBe(value);
    }
    // No gaps but control batches (epoch-start markers): every user record on disk up to the last
    // offset read was delivered.
    await cluster.stopAll({ removeData: false });
    for (let p = 0; p < PARTITIONS; p++) {
      const logs = await Promise.all(cluster.brokers.map((b) => readReplicaLog(cluster.dataDir, b.id, topic.topicId, p)));
      const longest = logs.reduce((a, b) => (b.records.length > a.records.length ? b : a));
      const expected = longest.records.filter((r) => r.offset <= lastRead(p)).map((r) => `${r.offset}:${r.value}`);
      expect(read.get(p)!.map((r) => `${r.offset}:${r.value.toString()}`), `partition ${p}: delivered = stored`).toEqual(expected);
    }
  });
});
