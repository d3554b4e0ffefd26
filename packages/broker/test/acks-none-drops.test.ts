// Issue 18, "acks none under overload": a fire-and-forget produce the partition cannot take (its
// log writes in flight at their bound) is dropped and counted, not refused - the client asked not
// to be told - and the drop is logged at most once per interval with the count since the last line.
// Driven through ProduceService with a real ReplicaDriver over a log whose writes never complete.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RunnelError } from '@runnel/protocol';
import type { ProduceRequest__Output, TopicInfo__Output } from '@runnel/protocol';
import type { AppendRecordsInput, AppendResult, MetaStore, PartitionLog } from '@runnel/storage';
import { BrokerMetrics } from '../src/metrics/broker-metrics.js';
import type { PartitionRegistry } from '../src/partition-registry.js';
import { ProduceService } from '../src/produce-handler.js';
import { ReplicaDriver } from '../src/replica-driver.js';
import { silentLogger } from './helpers.js';

/** An empty PartitionLog whose appends stay in flight until `complete()`. */
function stalledLog(): { log: PartitionLog; appends: AppendRecordsInput[]; complete(): void } {
  let leo = 0;
  const appends: AppendRecordsInput[] = [];
  const waiting: Array<() => void> = [];
  const log = {
    key: { topicId: 't', partition: 0 },
    logStartOffset: 0,
    epochBeforeLogStart: -1,
    get logEndOffset() { return leo; },
    get durableEndOffset() { return leo; },
    highWatermark: 0,
    lastEpoch: -1,
    sizeBytes: 0,
    epochEntries: () => [],
    append(input: AppendRecordsInput): Promise<AppendResult> {
      appends.push(input);
      const base = leo;
      leo += input.recordCount;
      return new Promise((resolve) => waiting.push(() => resolve({ baseOffset: base, lastOffset: base + input.recordCount - 1, batch: Buffer.alloc(0) })));
    },
    setHighWatermark() {},
  } as unknown as PartitionLog;
  return { log, appends, complete: () => { for (const w of waiting.splice(0)) w(); } };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function leaderOver(log: PartitionLog): Promise<ReplicaDriver> {
  const meta = { put: () => Promise.resolve() } as unknown as MetaStore;
  const driver = new ReplicaDriver({
    nodeId: 1, topic: 't', topicId: 't', partition: 0, log, meta, promisedEpoch: 0,
    settings: { retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1000 }, logger: silentLogger, nowMs: () => 1,
    send: () => undefined, onDeclined: () => undefined,
    notLeader: () => new RunnelError('NOT_LEADER', 'moved'),
  });
  await driver.prepareEpoch(1, 5000);
  driver.roleChange(1, 1, [1]);
  expect(driver.isLeading).toBe(true);
  return driver;
}

/** The three registry calls ProduceService makes, over one partition led by `leader`. */
function registryOf(leader: ReplicaDriver): PartitionRegistry {
  const info = { partition: 0, leader: 1, replicas: [1], leaderEpoch: 1, state: 'PARTITION_STATE_ONLINE' };
  const topic = { name: 't', topicId: 't', partitions: [info] } as unknown as TopicInfo__Output;
  return {
    resolveTopic: () => topic,
    resolvePartition: (t: TopicInfo__Output) => ({ topic: t, info }),
    leaderFor: () => leader,
  } as unknown as PartitionRegistry;
}

const noAck = (records = 1): ProduceRequest__Output => ({
  topic: 't', partition: 0, acks: 'ACKS_NONE', timeoutMs: 0,
  records: Array.from({ length: records }, () => ({ key: Buffer.alloc(0), value: Buffer.from('v'), headers: {}, timestampMs: 0 })),
} as unknown as ProduceRequest__Output);

describe('ACKS_NONE produces a partition cannot take', () => {
  it('are answered like any ACKS_NONE produce, dropped, counted by topic and reason, and logged once per interval', async () => {
    const c = stalledLog();
    const leader = await leaderOver(c.log);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
    const dropped: Array<{ topic: string; reason: string; records: number }> = [];
    let now = 1_000;
    const service = new ProduceService(registryOf(leader), () => now, false, {
      logger, onDropped: (topic: string, reason: string, records: number) => dropped.push({ topic, reason, records }),
    });

    const sent = 1_500;
    const answers = await Promise.allSettled(Array.from({ length: sent }, () => service.start(noAck(2))));
    await flush();
    const refused = answers.filter((a) => a.status === 'rejected').map((a) => (a.reason as RunnelError).code);
    expect(refused).toEqual([]);
    for (const a of answers) expect(a.status === 'fulfilled' && a.value.baseOffset).toBe(-1);
    // What the log did not get was counted, record by record, under its topic and reason.
    const accepted = c.appends.length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(sent);
    expect(dropped.reduce((n, d) => n + d.records, 0)).toBe(2 * (sent - accepted));
    expect(new Set(dropped.map((d) => `${d.topic}/${d.reason}`))).toEqual(new Set(['t/partition_full']));
    // One warning for the whole burst, not one per request.
    const warnings = (): Array<Record<string, unknown>> => lines.filter((l) => l.msg === 'acks none produces dropped: the partition cannot take more');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ topic: 't', partition: 0, reason: 'partition_full', level: 40 });

    // Later drops are reported with the count since the last line, once the interval has passed.
    await service.start(noAck(3));
    expect(warnings()).toHaveLength(1);
    now += 60_000;
    await service.start(noAck(1));
    expect(warnings()).toHaveLength(2);
    const burst = sent - accepted;
    expect(warnings()[1]).toMatchObject({ droppedRecords: 2 * (burst - 1) + 4, droppedRequests: burst - 1 + 2, sinceMs: 60_000 });

    // Once the writes complete, the partition takes fire-and-forget produces again.
    c.complete();
    await flush();
    const before = c.appends.length;
    const droppedBefore = dropped.length;
    await service.start(noAck(1));
    expect(c.appends.length).toBe(before + 1);
    expect(dropped).toHaveLength(droppedBefore);
  });

  it('a produce refused for another reason (not the leader) is still an error', async () => {
    const c = stalledLog();
    const leader = await leaderOver(c.log);
    leader.roleChange(2, 2, [1, 2]);
    const service = new ProduceService(registryOf(leader), () => 1, false, { logger: silentLogger, onDropped: () => { throw new Error('not a drop'); } });
    await expect(service.start(noAck())).rejects.toMatchObject({ code: 'NOT_LEADER' });
  });

  it('are exported as runnel_produce_dropped_records_total{topic,reason}', async () => {
    const metrics = new BrokerMetrics(silentLogger);
    metrics.produceDropped('t', 'partition_full', 5);
    metrics.produceDropped('t', 'partition_full', 2);
    const text = await metrics.render();
    expect(text).toContain('# TYPE runnel_produce_dropped_records_total counter');
    expect(text).toContain('runnel_produce_dropped_records_total{topic="_other",reason="partition_full"} 7');
  });
});
