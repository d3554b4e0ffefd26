// Consumer groups on a real cluster, with every member a real process: 3 members share 12
// partitions; a 4th joins (only the partitions that must move move, the others never stop); one
// member is killed -9 (its partitions move after the session timeout); the broker coordinating the
// group is killed -9 (commits survive, members carry on). Across all of it, every acknowledged
// record is processed at least once and no partition is processed by two members at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { GroupHistory, MemberProcess } from './support/member-process.js';

const PARTITIONS = 12;
const GROUP = 'workers';
const TOPIC = 'jobs';
const SESSION_TIMEOUT_MS = 3_000;

/** Owner of each partition from the members' latest sampled assignments (undefined: none or contested). */
function owners(members: readonly MemberProcess[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of members) for (const p of m.parts) out.set(p, out.has(p) ? 'CONTESTED' : m.name);
  return out;
}

function balanced(members: readonly MemberProcess[], each: number): boolean {
  const o = owners(members);
  return members.every((m) => m.parts.length === each) && o.size === PARTITIONS && ![...o.values()].includes('CONTESTED');
}

/** Pairs of records of one partition whose processing overlapped in time on two different members. */
function overlaps(history: GroupHistory): string[] {
  const out: string[] = [];
  const byPartition = new Map<number, typeof history.processed>();
  for (const r of history.processed) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
  for (const [partition, records] of byPartition) {
    const sorted = [...records].sort((a, b) => a.s - b.s);
    const lastEnd = new Map<string, { f: number; offset: number }>();
    for (const r of sorted) {
      for (const [member, prev] of lastEnd) {
        if (member !== r.member && prev.f > r.s) out.push(`partition ${partition}: ${member} processed offset ${prev.offset} until ${prev.f}, ${r.member} started offset ${r.offset} at ${r.s}`);
      }
      lastEnd.set(r.member, { f: Math.max(r.f, lastEnd.get(r.member)?.f ?? 0), offset: r.offset });
    }
  }
  return out;
}

describe('consumer groups with member processes', () => {
  let cluster: Cluster;
  let client: RunnelClient;
  const history = new GroupHistory();
  const members: MemberProcess[] = [];
  const acked = new Set<string>();
  let producing = false;
  let producerTask: Promise<void> = Promise.resolve();
  let seq = 0;
  /** Per partition: when the producer last had an ack, and its last failure; shown when a wait fails. */
  const lastAckAt = new Map<number, number>();
  const lastFailure = new Map<number, string>();

  const startProducing = (): void => {
    producing = true;
    const producer = client.producer({ acks: 'quorum', lingerMs: 1 });
    producerTask = (async () => {
      while (producing) {
        const batch = Array.from({ length: PARTITIONS }, (_, p) => ({ value: `v${seq++}`, partition: p }));
        await Promise.all(batch.map(async (r) => {
          try {
            await producer.send(TOPIC, r);
            acked.add(r.value);
            lastAckAt.set(r.partition, Date.now());
          } catch (err) {
            // outcome unknown: not counted as acknowledged
            lastFailure.set(r.partition, `${Date.now()} ${(err as Error).message}`);
          }
        }));
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await producer.close().catch(() => undefined);
    })();
  };
  const stopProducing = async (): Promise<void> => {
    producing = false;
    await producerTask;
  };
  const spawnMember = (name: string): MemberProcess => {
    const m = new MemberProcess(name, { bootstrap: cluster.bootstrap, group: GROUP, topic: TOPIC, sessionTimeoutMs: SESSION_TIMEOUT_MS }, history);
    members.push(m);
    return m;
  };
  const live = (): MemberProcess[] => members.filter((m) => !m.exited);
  /** Producer and member state, for the message of a wait that timed out. */
  const state = (): string => {
    const lastProcessedAt = new Map<number, number>();
    for (const r of history.processed) lastProcessedAt.set(r.partition, Math.max(lastProcessedAt.get(r.partition) ?? 0, r.s));
    return [
      `now ${Date.now()}; acked ${acked.size} of ${seq} sent`,
      ...Array.from({ length: PARTITIONS }, (_, p) => `partition ${p}: last ack ${lastAckAt.get(p) ?? '-'}, last processed ${lastProcessedAt.get(p) ?? '-'}, last failure ${lastFailure.get(p) ?? '-'}`),
      ...members.map((m) => `${m.name}: ${m.exited ? 'exited' : 'running'}, owns ${m.parts.join(' ') || 'nothing'}`),
    ].join('\n');
  };
  /** waitFor, with the producer and member state added to a timeout's message. */
  const waitWithState = async <T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, description: string): Promise<T> => {
    try {
      return await waitFor(check, { timeoutMs, description });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${state()}`);
    }
  };
  const allProcessed = (): boolean => {
    const seen = new Set(history.processed.map((r) => r.value));
    for (const v of acked) if (!seen.has(v)) return false;
    return true;
  };

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3, sessionTimeoutMs: 1500, heartbeatIntervalMs: 300 });
    client = new RunnelClient({ bootstrap: cluster.bootstrap });
    await client.admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  });

  afterAll(async () => {
    producing = false;
    await producerTask;
    for (const m of members) m.kill();
    await client?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('shares 12 partitions among 3 members, and a 4th joining moves only the 3 partitions it needs', async () => {
    startProducing();
    const first = ['m1', 'm2', 'm3'].map(spawnMember);
    await waitFor(() => balanced(first, 4), { timeoutMs: 30_000, description: '3 members with 4 partitions each' });
    const before = owners(first);
    const eventsBefore = history.assignments.length;

    const m4 = spawnMember('m4');
    await waitFor(() => balanced([...first, m4], 3), { timeoutMs: 30_000, description: '4 members with 3 partitions each' });
    const after = owners([...first, m4]);
    const rebalanceMs = Math.max(...history.assignments.slice(eventsBefore).map((e) => e.t)) - m4.startedAt;
    console.log(`consumer group: 4th member balanced ${rebalanceMs} ms after its process started`);

    const moved = [...after].filter(([p, owner]) => before.get(p) !== owner).map(([p]) => p);
    expect(moved).toHaveLength(3);
    expect(new Set(moved.map((p) => after.get(p)))).toEqual(new Set(['m4']));
    // The partitions that stayed were never out of their owner's assignment during the rebalance.
    for (const e of history.assignments.slice(eventsBefore)) {
      if (e.member === 'm4') continue;
      const kept = [...after].filter(([p, owner]) => owner === e.member && before.get(p) === owner).map(([p]) => p);
      for (const p of kept) expect(e.parts, `${e.member} at ${e.t}`).toContain(p);
    }
  });

  it('moves a killed member\'s partitions after the session timeout', async () => {
    const victim = members.find((m) => m.name === 'm2')!;
    const orphaned = [...victim.parts];
    const killedAt = victim.kill();
    await waitFor(() => victim.exited, { timeoutMs: 10_000, description: 'member exit' });
    const survivors = live();
    await waitFor(() => balanced(survivors, 4), { timeoutMs: 30_000, description: 'survivors with 4 partitions each' });
    const takenAt = Math.max(...history.assignments.filter((e) => e.t >= killedAt && orphaned.some((p) => e.parts.includes(p))).map((e) => e.t));
    console.log(`consumer group: killed member's partitions moved ${takenAt - killedAt} ms after kill -9 (session timeout ${SESSION_TIMEOUT_MS} ms)`);
    // Nobody took them before the coordinator could have declared the member dead.
    expect(takenAt - killedAt).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 1_000);
  });

  it('keeps commits and members when the coordinating broker is killed -9', async () => {
    await waitFor(async () => (await client.admin.describeGroup(GROUP)).partitions.every((p) => p.committedOffset > 0), { timeoutMs: 30_000, description: 'commits on every partition' });
    const before = await client.admin.describeGroup(GROUP);
    const coordinator = cluster.node(before.coordinatorId);
    const eventsBefore = history.assignments.length;
    const processedBefore = history.processed.length;
    await cluster.kill(coordinator);
    const killedAt = Date.now();
    // New records keep being processed, by the same members, on the same partitions.
    await waitWithState(() => history.processed.slice(processedBefore).filter((r) => r.s > killedAt + 500).length >= 200, 30_000, `processing after the kill (at ${killedAt}) of broker ${before.coordinatorId}`);
    await waitFor(async () => (await client.admin.describeGroup(GROUP)).coordinatorId !== before.coordinatorId, { timeoutMs: 30_000, description: 'a new group coordinator' });
    const after = await client.admin.describeGroup(GROUP);
    for (const p of before.partitions) {
      const now = after.partitions.find((x) => x.topic === p.topic && x.partition === p.partition);
      expect(now?.committedOffset, `${p.topic}/${p.partition}`).toBeGreaterThanOrEqual(p.committedOffset);
    }
    expect(after.members).toBe(3);
    for (const e of history.assignments.slice(eventsBefore)) expect(e.parts, `${e.member} lost partitions at ${e.t}`).toHaveLength(4);
    await cluster.restart(coordinator);
  });

  it('processed every acknowledged record at least once, never one partition on two members at once', async () => {
    await stopProducing();
    await waitWithState(allProcessed, 60_000, 'every acknowledged record processed');
    for (const m of live()) await m.stop();
    expect(history.errors).toEqual([]);
    expect(acked.size).toBeGreaterThan(1_000);
    expect(overlaps(history)).toEqual([]);
  });
});
