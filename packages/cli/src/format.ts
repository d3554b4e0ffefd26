import Table from 'cli-table3';

/** Pure formatting: every function returns text; output.ts writes it. */

export interface TopicConfigView {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly maxMessageBytes: number;
  readonly cleanupPolicy: string;
  /** LOSSY opt-in: a leader may be elected without a majority of replicas. */
  readonly uncleanLeaderElection: boolean;
}

export interface PartitionView {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  /** Replicas the leader last reported as caught up (empty when not reported yet). */
  readonly inSyncReplicas: readonly number[];
  readonly epoch: number;
  readonly state: string;
  readonly logStartOffset: number | null;
  readonly highWatermark: number | null;
  readonly logEndOffset: number | null;
}

/** The `topic describe --json` document. */
export interface TopicView {
  readonly name: string;
  readonly topicId: string;
  readonly replicationFactor: number;
  readonly config: TopicConfigView;
  readonly partitions: readonly PartitionView[];
}

/** One line of `topic list --json`. */
export interface TopicSummaryView {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: TopicConfigView;
}

export interface EndpointView {
  readonly role: string;
  readonly id: number;
  readonly address: string;
  readonly pid: number | undefined;
  readonly logFile: string;
}

export interface NodeStatusView {
  readonly role: 'coordinator' | 'broker';
  readonly id: number;
  readonly address: string;
  /** The coordinator's view (always true for the coordinator itself when it answered). */
  readonly alive: boolean;
  /** grpc.health.v1 status, or UNREACHABLE. */
  readonly health: string;
}

/** The `cluster status --json` document. */
export interface ClusterStatusView {
  readonly healthy: boolean;
  readonly clusterId: string | null;
  readonly metadataVersion: number | null;
  readonly coordinator: NodeStatusView;
  readonly brokers: readonly NodeStatusView[];
  /** Why the coordinator could not be asked, if it could not. */
  readonly error: string | null;
}

export interface ThroughputView {
  readonly records: number;
  readonly failed: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly latencyMsP50?: number;
  readonly latencyMsP99?: number;
  readonly acks: string;
}

export interface ConsumedRecordView {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null | undefined;
  readonly value: Buffer;
  readonly timestampMs: number;
}

type CellValue = string | number;

/** A plain table (no colours, so it reads the same in a pipe). */
export function table(head: readonly string[], rows: readonly (readonly CellValue[])[]): string {
  const t = new Table({
    head: [...head],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) t.push(row.map((c) => String(c)));
  return `${t.toString()}\n`;
}

/** One JSON document on one line. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** A pretty JSON document (for --json of describe/list/status). */
export function jsonDocument(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function orDash(v: number | null): CellValue {
  return v === null ? '-' : v;
}

export function formatEndpoints(nodes: readonly EndpointView[]): string {
  return table(['role', 'id', 'address', 'pid', 'log file'], nodes.map((n) => [n.role, n.id, n.address, n.pid ?? '-', n.logFile]));
}

/** Normalises PARTITION_STATE_ONLINE / ONLINE / online to 'online'. */
export function partitionStateName(state: unknown): string {
  const s = String(state).toLowerCase();
  if (s.includes('offline')) return 'offline';
  if (s.includes('online')) return 'online';
  return s.replace(/^partition_state_/, '');
}

/** Normalises CLEANUP_POLICY_DELETE to 'delete'. */
export function cleanupPolicyName(policy: unknown): string {
  return String(policy).toLowerCase().replace(/^cleanup_policy_/, '');
}

function describeConfig(c: TopicConfigView): string {
  const ms = c.retentionMs < 0 ? 'forever' : `${c.retentionMs} ms`;
  const bytes = c.retentionBytes < 0 ? 'unlimited' : `${c.retentionBytes} B`;
  const unclean = c.uncleanLeaderElection ? 'YES (lossy)' : 'no';
  return `retention ${ms}, retention bytes ${bytes}, max message ${c.maxMessageBytes} B, cleanup ${c.cleanupPolicy}, unclean leader election ${unclean}`;
}

export function formatTopicDescribe(topic: TopicView): string {
  const headline = `topic ${topic.name} (id ${topic.topicId}): ${topic.partitions.length} partitions, replication ${topic.replicationFactor}\nconfig: ${describeConfig(topic.config)}\n`;
  return headline + table(
    ['partition', 'leader', 'replicas', 'in sync', 'epoch', 'state', 'log start', 'high watermark', 'log end'],
    topic.partitions.map((p) => [
      p.partition, p.leader < 0 ? 'none' : p.leader, p.replicas.join(','), p.inSyncReplicas.length === 0 ? '-' : p.inSyncReplicas.join(','), p.epoch, p.state,
      orDash(p.logStartOffset), orDash(p.highWatermark), orDash(p.logEndOffset),
    ]),
  );
}

export function formatTopicList(topics: readonly TopicSummaryView[]): string {
  if (topics.length === 0) return 'no topics\n';
  return table(['name', 'partitions', 'replication', 'topic id'], topics.map((t) => [t.name, t.partitions, t.replicationFactor, t.topicId]));
}

export function formatClusterStatus(status: ClusterStatusView): string {
  const rows = [status.coordinator, ...status.brokers].map((n) => [n.role, n.role === 'coordinator' ? '-' : n.id, n.address, n.alive ? 'yes' : 'no', n.health]);
  const verdict = status.healthy ? 'cluster is healthy' : 'cluster is NOT healthy';
  const extra = status.error === null ? '' : ` (${status.error})`;
  const id = status.clusterId === null ? '' : `cluster ${status.clusterId}: `;
  return `${table(['role', 'id', 'address', 'alive', 'health'], rows)}${id}${verdict}${extra}\n`;
}

function round(n: number, digits: number): string {
  return n.toFixed(digits);
}

export function formatThroughput(t: ThroughputView): string {
  const seconds = Math.max(t.seconds, 1e-9);
  const parts = [
    // acks=none answers before the append: the records were sent, nothing acknowledged them.
    t.acks === 'none' ? `${t.records} records sent (not acknowledged: --acks none)` : `${t.records} records acknowledged`,
    ...(t.failed > 0 ? [`${t.failed} FAILED`] : []),
    `in ${round(t.seconds, 2)} s`,
    `${Math.round(t.records / seconds)} records/s`,
    `${round(t.bytes / seconds / (1024 * 1024), 2)} MB/s`,
    `acks=${t.acks}`,
  ];
  if (t.latencyMsP50 !== undefined && t.latencyMsP99 !== undefined) {
    parts.push(`${t.acks === 'none' ? 'send' : 'ack'} latency p50 ${round(t.latencyMsP50, 1)} ms, p99 ${round(t.latencyMsP99, 1)} ms`);
  }
  return `${parts.join(', ')}\n`;
}

export function producedJson(partition: number, offset: number): string {
  return `{"partition":${partition},"offset":${offset}}\n`;
}

export function consumedJson(r: ConsumedRecordView): string {
  return jsonLine({
    partition: r.partition,
    offset: r.offset,
    key: r.key === null || r.key === undefined ? null : r.key.toString('utf8'),
    value: r.value.toString('utf8'),
    timestampMs: r.timestampMs,
  });
}

export function consumedValue(r: ConsumedRecordView): string {
  return `${r.value.toString('utf8')}\n`;
}

/** The p-th percentile (0..100) of samples (sorted in place). */
export function percentile(samples: Float64Array, p: number): number {
  if (samples.length === 0) return 0;
  samples.sort();
  const rank = Math.min(samples.length - 1, Math.max(0, Math.ceil((p / 100) * samples.length) - 1));
  return samples[rank] ?? 0;
}
