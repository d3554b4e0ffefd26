// Two answers a produce can get when a partition's leadership moves, told apart by code because a
// client must know whether a retry can duplicate:
// - NOT_LEADER: refused before the append (this broker does not lead): definitely not written.
// - LEADERSHIP_LOST: appended, then the leadership was lost before the ack level was reached: the
//   batch may still commit (outcome unknown). Both name the new leader in the trailers.
// Real processes behind fault proxies: the leader is cut from both followers, so a QUORUM produce
// it appends cannot commit; the coordinator moves the leadership (the leader reports itself
// isolated), and the pending produce is answered.
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@runnel/testkit';
import type { BrokerClient, ProduceResponse__Output } from '@runnel/protocol';
import { failure, rawBroker, toFailure } from './grpc-raw.js';
import type { CallFailure } from './grpc-raw.js';
import { partitionInfo, replicatedClusterFixture, waitFullyInSync } from './support/replicated-cluster.js';

/** A raw QUORUM Produce with a long ack timeout (longer than the move takes) and a matching deadline. */
function produceSlowly(broker: BrokerClient, topic: string, value: string): Promise<ProduceResponse__Output | CallFailure> {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set('runnel-forward', 'false');
    broker.Produce(
      { topic, partition: 0, records: [{ value: Buffer.from(value) }], acks: 'ACKS_QUORUM', timeoutMs: 60_000 },
      md,
      { deadline: Date.now() + 70_000 },
      (err, res) => resolve(err !== null ? toFailure(err) : res!),
    );
  });
}

describe('a produce when the leadership moves', () => {
  const fixture = replicatedClusterFixture({ networkFaults: true });

  it('is LEADERSHIP_LOST when appended before the leadership was lost, NOT_LEADER when refused by a broker that does not lead', { timeout: 90_000 }, async () => {
    const { cluster, client } = await fixture.start();
    await client.admin.createTopic({ name: 'moving', partitions: 1, replicationFactor: 3 });
    await waitFullyInSync(client, 'moving');
    const before = await partitionInfo(client, 'moving', 0);
    const dial = cluster.clientOptions().addressMap;
    const brokerAt = (id: number): BrokerClient => {
      const address = cluster.node(id).address;
      return rawBroker(dial[address] ?? address);
    };
    const oldLeader = brokerAt(before.leader);
    try {
      for (const f of before.replicas.filter((b) => b !== before.leader)) cluster.network!.cut(`broker-${before.leader}`, `broker-${f}`);
      const answer = await produceSlowly(oldLeader, 'moving', 'appended, never committed by this leader');
      expect('errorCode' in answer, `expected an error, got ${JSON.stringify(answer)}`).toBe(true);
      const lost = answer as CallFailure;
      expect(lost.errorCode).toBe('LEADERSHIP_LOST');
      expect(lost.code).toBe(grpc.status.UNAVAILABLE);
      expect(lost.retriable).toBe('true');
      expect(lost.details).toMatch(/may still commit/);
      const after = await waitFor(async () => {
        const p = await partitionInfo(client, 'moving', 0);
        return p.leader >= 0 && p.leader !== before.leader ? p : undefined;
      }, { timeoutMs: 20_000, intervalMs: 100, description: 'the new leader in the metadata' });
      expect(lost.leaderId).toBe(String(after.leader));

      // Now refused before any append: NOT_LEADER, with the same hint.
      const refused = await failure(oldLeader, 'Produce', { topic: 'moving', partition: 0, records: [{ value: Buffer.from('refused') }], acks: 'ACKS_QUORUM' });
      expect(refused.errorCode).toBe('NOT_LEADER');
      expect(refused.leaderId).toBe(String(after.leader));
    } finally {
      oldLeader.close();
      cluster.network!.heal();
    }
  });
});
