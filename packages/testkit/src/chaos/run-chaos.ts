import { rm } from 'node:fs/promises';
import { RunnelClient } from '@runnel/client';
import { startCluster, type Cluster } from '../cluster.js';
import type { FsyncPolicy, LogLevel } from '../cluster-options.js';
import { checkHistory } from '../history/checker.js';
import type { CheckResult, HistoryEvent, PartitionLog, ReplicaPrefix } from '../history/history-types.js';
import { seededRandom } from '../net/seeded-random.js';
import { finalRead } from './final-read.js';
import { ChaosContext, randomNemesis, type FaultKind, type FaultRecord } from './nemesis.js';
import { GroupWorkers } from './group-workers.js';
import { ProduceWorkers } from './produce-workers.js';
import { ReadWorkers } from './read-workers.js';
import { HistoryRecorder } from './recorder.js';
import { readReplicaPrefixes } from './replica-disks.js';
import { summarise, type ChaosSummary } from './summary.js';

export interface ChaosOptions {
  /** How long the nemesis runs (the workload runs a little longer: before, and while recovering). */
  readonly durationMs: number;
  /** Random faults from these kinds (ignored when `scenario` is given). */
  readonly faults?: readonly FaultKind[];
  /** A scripted nemesis instead of random faults; runs until it returns. */
  readonly scenario?: (ctx: ChaosContext) => Promise<void>;
  readonly seed?: number;
  readonly brokers?: number;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly fsync?: FsyncPolicy;
  readonly sessionTimeoutMs?: number;
  readonly producers?: number;
  /** Consumer-group members consuming the topic (0 = none), checked for double holds and commits going backwards. */
  readonly groupMembers?: number;
  /** A deliberate broker bug, for negative controls. */
  readonly testFault?: 'ack-before-quorum';
  readonly logLevel?: LogLevel;
  /** Keep the cluster's data folder (logs) afterwards; default: removed when there is no anomaly. */
  readonly keepData?: boolean;
  readonly dataDir?: string;
  /** Progress lines (fault started, recovering, checking…). */
  readonly onProgress?: (line: string) => void;
}

export interface ChaosResult {
  readonly options: ChaosOptions;
  readonly seed: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly history: readonly HistoryEvent[];
  readonly finalLogs: ReadonlyMap<number, PartitionLog>;
  readonly replicas: readonly ReplicaPrefix[];
  readonly faults: readonly FaultRecord[];
  readonly check: CheckResult;
  readonly summary: ChaosSummary;
  /** Where the cluster's data and logs were (kept when anomalies were found or keepData). */
  readonly dataDir: string;
}

const TOPIC = 'chaos';

/**
 * One chaos run: a fresh cluster with every link behind a fault proxy, QUORUM producers and
 * subscribers recording a history, a nemesis injecting faults, then heal, recover, a final read
 * of every partition, a clean stop, every replica's committed prefix read from disk, and the
 * checker over all of it.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const seed = options.seed ?? 1;
  const partitions = options.partitions ?? 3;
  const brokers = options.brokers ?? 3;
  const replicationFactor = options.replicationFactor ?? Math.min(3, brokers);
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 1_500;
  const progress = options.onProgress ?? ((): void => undefined);
  const needsPowerLoss = options.scenario !== undefined || (options.faults ?? []).includes('powerloss');
  const cluster: Cluster = await startCluster({
    brokers, sessionTimeoutMs, networkFaults: true, powerLoss: needsPowerLoss, seed,
    fsync: options.fsync ?? 'always', logLevel: options.logLevel ?? 'info',
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.testFault === undefined ? {} : { testFault: options.testFault }),
  });
  const history = new HistoryRecorder();
  const control = new RunnelClient({ bootstrap: cluster.bootstrap, retry: { retriesMax: 20, initialBackoffMs: 20, backoffMsMax: 500 } });
  const startedAtMs = Date.now();
  let stopped = false;
  let keep = options.keepData === true;
  try {
    const topic = await control.admin.createTopic({ name: TOPIC, partitions, replicationFactor });
    await cluster.waitForHealthy(30_000);
    const client = cluster.clientOptions();
    const readers = new ReadWorkers(history, { topic: TOPIC, partitions, client, chunkRecords: 200, chunkMs: 250 });
    const producers = new ProduceWorkers(history, { topic: TOPIC, partitions, workers: options.producers ?? 4, client, pauseMs: 0, requestTimeoutMs: 5_000 });
    const members = (options.groupMembers ?? 0) > 0
      ? new GroupWorkers(history, { topic: TOPIC, group: 'chaos-group', members: options.groupMembers ?? 0, client, sessionTimeoutMs: Math.max(1_000, sessionTimeoutMs * 2), commitEvery: 20 })
      : undefined;
    readers.start();
    members?.start();
    producers.start();
    const abort = new AbortController();
    const ctx = new ChaosContext(cluster, history, control, TOPIC, seededRandom(seed), sessionTimeoutMs, abort.signal);
    await ctx.sleep(1_000);
    progress(`workload running; faults for ${options.durationMs} ms (seed ${seed})`);
    const timer = setTimeout(() => abort.abort(), options.durationMs);
    try {
      if (options.scenario !== undefined) await options.scenario(ctx);
      else await randomNemesis(ctx, options.faults ?? ['kill']);
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
    progress('healing every fault and waiting for the cluster to recover');
    await ctx.healAll();
    await cluster.waitForHealthy(60_000);
    // Let the workload run on the healed cluster, so recovery shows in the history.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await producers.stop();
    await readers.stop();
    await members?.stop();
    progress('final read of every partition');
    const finalLogs = await finalRead({ bootstrap: cluster.bootstrap }, TOPIC, partitions, 60_000);
    await control.close();
    stopped = true;
    await cluster.stopAll();
    progress('reading every replica from disk');
    const replicas = await readReplicaPrefixes(cluster.brokers.map((b) => ({ id: b.id, dataDir: b.dataDir })), topic.topicId, partitions);
    const endedAtMs = Date.now();
    const check = checkHistory({ history: history.events, finalLogs, replicas, replicationFactor });
    if (!check.valid) keep = true;
    const summary = summarise(history.events, ctx.faults, startedAtMs, endedAtMs);
    return { options, seed, startedAtMs, endedAtMs, history: history.events, finalLogs, replicas, faults: ctx.faults, check, summary, dataDir: cluster.dataDir };
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    if (!stopped) {
      await control.close().catch(() => undefined);
      await cluster.stopAll().catch(() => undefined);
    }
    if (!keep) await rm(cluster.dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
