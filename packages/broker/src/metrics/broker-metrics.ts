import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RunnelError } from '@runnel/protocol';
import type { Acks__Output, GroupDescription } from '@runnel/protocol';
import type { Acks } from '@runnel/replication';
import { decodeBatchHeader } from '@runnel/storage';
import type { PartitionLog, StoreOptions } from '@runnel/storage';
import { METRICS_GROUP_LAG_SERIES_MAX, METRICS_PARTITION_SERIES_MAX, METRICS_TOPIC_LABELS_MAX } from '../constants.js';
import type { MetadataView } from '../metadata-view.js';
import type { NoAckDropReason } from '../no-ack-drops.js';
import type { PartitionRegistry } from '../partition-registry.js';
import { groupLag } from './group-lag.js';
import type { GroupOffsets, PartitionLagView } from './group-lag.js';
import { offlinePartitions, partitionHealth } from './partition-health.js';
import type { LedPartition } from './partition-health.js';
import { TopicLabels } from './topic-labels.js';

/** Ack level label values. */
export type AckLabel = 'none' | 'leader' | 'quorum' | 'all';
/** Delivery API label values. */
export type DeliveryApi = 'fetch' | 'subscribe';

const ACK_LABELS: readonly AckLabel[] = ['none', 'leader', 'quorum', 'all'];
const DELIVERY_APIS: readonly DeliveryApi[] = ['fetch', 'subscribe'];
const CORE_ACK_LABEL: Readonly<Record<Acks, AckLabel>> = { NONE: 'none', LEADER: 'leader', QUORUM: 'quorum', ALL: 'all' };

/** The ack level a produce request asks for (unspecified = QUORUM, the default). */
export function requestedAckLabel(acks: Acks__Output | null | undefined): AckLabel {
  switch (acks) {
    case 'ACKS_NONE': return 'none';
    case 'ACKS_LEADER': return 'leader';
    case 'ACKS_ALL': return 'all';
    default: return 'quorum';
  }
}

/** Produce answer times, seconds: 0.5 ms (ACKS_NONE / LEADER) to 30 s (the default ack timeout). */
const PRODUCE_DURATION_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** One LevelDB group write (with fsync under --fsync always), seconds: 50 µs to 2.5 s. */
const STORAGE_WRITE_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Offsets of a log's epoch-start markers: its epochs' start offsets, except a first epoch whose
 * start retention moved up to the log start (no marker there any more).
 */
function epochStartOffsets(log: Pick<PartitionLog, 'epochEntries' | 'logStartOffset'>): number[] {
  return log.epochEntries().filter((e, i) => !(i === 0 && e.startOffset === log.logStartOffset && log.logStartOffset > 0)).map((e) => e.startOffset);
}

/** What the scrape-time gauges read. Attached once the broker has built them. */
export interface BrokerMetricsSources {
  readonly registry: PartitionRegistry;
  readonly metadata: MetadataView;
  readonly groups: { list(): Promise<GroupDescription[]>; describe(group: string): Promise<GroupDescription> };
  /** Subscribe and ProduceStream calls open now (the stream limits' counts). */
  readonly openStreams?: () => Readonly<Record<'subscribe' | 'produce_stream', number>>;
}

type GroupWriteObserver = NonNullable<StoreOptions['onGroupWrite']>;

/**
 * The broker's Prometheus metrics (docs/metrics.md), in a registry of its own (no global state).
 * Counters and histograms are fed by hooks, once per request or per storage write, never per
 * record: `produced` (ReplicaDriver, per accepted produce), `produceAnswered` / `produceFailed`
 * (InstrumentedProduceService), `delivered` (the Fetch / Subscribe wrappers), `storageWrite` (the
 * store's group commit). Gauges about partitions and consumer groups are computed when scraped.
 * Label sets are bounded: topics by METRICS_TOPIC_LABELS_MAX (then `_other`), ack levels, API and
 * error codes by their fixed sets, per-partition and per-group series by the METRICS_*_SERIES_MAX.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #log: Logger;
  #sources: BrokerMetricsSources | undefined;
  readonly #topics = new TopicLabels(METRICS_TOPIC_LABELS_MAX, (topic) => this.#sources?.metadata.topic(topic) !== undefined);

  readonly #produceRequests: Counter<'topic' | 'acks'>;
  readonly #produceRecords: Counter<'topic' | 'acks'>;
  readonly #produceBytes: Counter<'topic' | 'acks'>;
  readonly #produceErrors: Counter<'code'>;
  readonly #produceDropped: Counter<'topic' | 'reason'>;
  readonly #produceDuration: Histogram<'acks'>;
  readonly #deliveredRecords: Counter<'topic' | 'api'>;
  readonly #deliveredBytes: Counter<'topic' | 'api'>;
  readonly #outOfRange: Counter<'topic' | 'api'>;
  readonly #offsetsLost: Counter<'topic' | 'api'>;
  readonly #storageWriteDuration: Histogram<'sync'>;
  readonly #storageWriteEntries: Counter;

  constructor(logger: Logger) {
    this.#log = logger.child({ component: 'metrics' });
    const registers = [this.registry];
    // Node.js process metrics under their standard names (nodejs_eventloop_lag_seconds, process_cpu_seconds_total, ...).
    collectDefaultMetrics({ register: this.registry });
    this.#produceRequests = new Counter({
      name: 'runnel_produce_requests_total', help: 'Produce requests accepted by partitions this broker leads (one batch each), by topic and effective ack level.',
      labelNames: ['topic', 'acks'], registers,
    });
    this.#produceRecords = new Counter({
      name: 'runnel_produce_records_total', help: 'Records in the produce requests accepted here, by topic and ack level.', labelNames: ['topic', 'acks'], registers,
    });
    this.#produceBytes = new Counter({
      name: 'runnel_produce_bytes_total', help: 'Record-set bytes of the produce requests accepted here, by topic and ack level.', labelNames: ['topic', 'acks'], registers,
    });
    this.#produceErrors = new Counter({
      name: 'runnel_produce_errors_total', help: 'Produce requests handled here that were answered with an error, by error code.', labelNames: ['code'], registers,
    });
    this.#produceDropped = new Counter({
      name: 'runnel_produce_dropped_records_total', help: 'Records of ACKS_NONE produces dropped because the partition could not take them (reason partition_full), by topic and reason.',
      labelNames: ['topic', 'reason'], registers,
    });
    this.#produceDuration = new Histogram({
      name: 'runnel_produce_duration_seconds', help: 'Time from a produce request reaching this broker to its successful answer (its ack level reached), by requested ack level.',
      labelNames: ['acks'], buckets: PRODUCE_DURATION_BUCKETS_S, registers,
    });
    this.#deliveredRecords = new Counter({
      name: 'runnel_delivered_records_total', help: 'Records sent to consumers by this broker, by topic and API (fetch, subscribe).', labelNames: ['topic', 'api'], registers,
    });
    this.#deliveredBytes = new Counter({
      name: 'runnel_delivered_bytes_total', help: 'Stored batch bytes sent to consumers by this broker, by topic and API.', labelNames: ['topic', 'api'], registers,
    });
    this.#outOfRange = new Counter({
      name: 'runnel_consumer_offset_out_of_range_total',
      help: 'Reads (Fetch, or a Subscribe start or push) refused with OFFSET_OUT_OF_RANGE because retention had deleted the offset asked for: a consumer slower than retention.',
      labelNames: ['topic', 'api'], registers,
    });
    this.#offsetsLost = new Counter({
      name: 'runnel_consumer_offsets_lost_total',
      help: 'Per such refusal, the offsets from the one asked for up to the log start: records that consumer will never read (counted again if it asks again).',
      labelNames: ['topic', 'api'], registers,
    });
    this.#storageWriteDuration = new Histogram({
      name: 'runnel_storage_write_duration_seconds', help: 'Duration of one group-commit LevelDB write; sync="true" writes include the fsync.',
      labelNames: ['sync'], buckets: STORAGE_WRITE_BUCKETS_S, registers,
    });
    this.#storageWriteEntries = new Counter({
      name: 'runnel_storage_write_entries_total', help: 'Writes (appends, truncations, metadata) carried by group-commit writes; divide by the write count for the grouping factor.', registers,
    });

    const metrics = this;
    new Gauge({
      name: 'runnel_partitions_hosted', help: 'Partition replicas hosted by this broker (leading, following or idle).', registers,
      collect() {
        this.set(metrics.#sources?.registry.hosted().length ?? 0);
      },
    });
    new Gauge({
      name: 'runnel_partitions_led', help: 'Partitions this broker leads.', registers,
      collect() {
        this.set(metrics.#sources?.registry.all().length ?? 0);
      },
    });
    new Gauge({
      name: 'runnel_partitions_under_replicated', help: 'Partitions led here whose in-sync replica set is smaller than their replica set.', registers,
      collect() {
        this.set(partitionHealth(metrics.#led(), 0).underReplicated);
      },
    });
    new Gauge({
      name: 'runnel_partitions_offline', help: "Partitions with no leader in this broker's copy of the cluster metadata.", registers,
      collect() {
        const view = metrics.#sources?.metadata;
        this.set(view === undefined ? 0 : offlinePartitions(view.snapshot));
      },
    });
    new Gauge({
      name: 'runnel_streams_open', help: 'Subscribe and ProduceStream calls open on this broker (kind subscribe, produce_stream); each kind is bounded by its flag.',
      labelNames: ['kind'], registers,
      collect() {
        const open = metrics.#sources?.openStreams?.();
        if (open !== undefined) for (const [kind, n] of Object.entries(open)) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'runnel_metadata_version', help: "Version of this broker's copy of the cluster metadata.", registers,
      collect() {
        this.set(metrics.#sources?.metadata.version ?? 0);
      },
    });
    new Gauge({
      name: 'runnel_follower_lag_records', help: "Per partition led here: the leader's log end offset minus the slowest follower's acknowledged log end offset.",
      labelNames: ['topic', 'partition'], registers,
      collect() {
        this.reset();
        for (const s of partitionHealth(metrics.#led(), METRICS_PARTITION_SERIES_MAX).followerLags) this.set({ topic: s.topic, partition: s.partition }, s.lag);
      },
    });
    new Gauge({
      name: 'runnel_consumer_group_lag_records',
      help: 'Per group coordinated here and partition it committed: the partition high watermark known on this broker minus the committed offset.',
      labelNames: ['group', 'topic', 'partition'], registers,
      async collect() {
        const samples = await metrics.#groupLag();
        this.reset();
        for (const s of samples) this.set({ group: s.group, topic: s.topic, partition: s.partition }, s.lag);
      },
    });
  }

  /** Called once the broker has built what the scrape-time gauges read. */
  attach(sources: BrokerMetricsSources): void {
    this.#sources = sources;
  }

  /** The exposition text; drops the series of deleted topics first. */
  render(): Promise<string> {
    for (const topic of this.#topics.prune()) {
      for (const acks of ACK_LABELS) {
        this.#produceRequests.remove({ topic, acks });
        this.#produceRecords.remove({ topic, acks });
        this.#produceBytes.remove({ topic, acks });
      }
      this.#produceDropped.remove({ topic, reason: 'partition_full' });
      for (const api of DELIVERY_APIS) {
        this.#deliveredRecords.remove({ topic, api });
        this.#deliveredBytes.remove({ topic, api });
        this.#outOfRange.remove({ topic, api });
        this.#offsetsLost.remove({ topic, api });
      }
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ---- hooks (each one call per request or per storage write) ----------------------------------

  /** A produce request accepted by a partition led here (ReplicaDriver). */
  readonly produced = (topic: string, acks: Acks, recordCount: number, bytes: number): void => {
    const labels = { topic: this.#topics.of(topic), acks: CORE_ACK_LABEL[acks] };
    this.#produceRequests.inc(labels);
    this.#produceRecords.inc(labels, recordCount);
    this.#produceBytes.inc(labels, bytes);
  };

  /** A produce request handled here reached its ack level; `startedMs` from performance.now(). */
  produceAnswered(acks: AckLabel, startedMs: number): void {
    this.#produceDuration.observe({ acks }, (performance.now() - startedMs) / 1000);
  }

  /** An ACKS_NONE produce a partition led here could not take was dropped (NoAckDrops). */
  readonly produceDropped = (topic: string, reason: NoAckDropReason, recordCount: number): void => {
    this.#produceDropped.inc({ topic: this.#topics.of(topic), reason }, recordCount);
  };

  /** A produce request handled here was answered with an error. */
  produceFailed(err: unknown): void {
    this.#produceErrors.inc({ code: err instanceof RunnelError ? err.code : 'INTERNAL' });
  }

  /** Stored batches sent to a consumer of `topic` (one Fetch answer or one Subscribe push). */
  delivered(api: DeliveryApi, topic: string, batches: readonly Uint8Array[]): void {
    if (batches.length === 0) return;
    let bytes = 0;
    let records = 0;
    for (const b of batches) {
      bytes += b.byteLength;
      records += decodeBatchHeader(b).recordCount;
    }
    const labels = { topic: this.#topics.of(topic), api };
    this.#deliveredRecords.inc(labels, records);
    this.#deliveredBytes.inc(labels, bytes);
  }

  /**
   * A read of `topic`/`partition` at `offset` was refused with OFFSET_OUT_OF_RANGE: counted when
   * the offset is below the partition's log start here (deleted by retention), not beyond the end.
   */
  outOfRange(api: DeliveryApi, topic: string, partition: number, offset: number): void {
    let logStart: number;
    try {
      const r = this.#sources?.registry.lookup(topic, partition);
      if (r === undefined) return;
      logStart = r.logStartOffset;
    } catch {
      return; // no longer led here
    }
    if (!(offset >= 0 && offset < logStart)) return;
    const labels = { topic: this.#topics.of(topic), api };
    this.#outOfRange.inc(labels);
    this.#offsetsLost.inc(labels, logStart - offset);
  }

  /** One group-commit write (StoreOptions.onGroupWrite). */
  readonly storageWrite: GroupWriteObserver = (o) => {
    this.#storageWriteDuration.observe({ sync: o.sync ? 'true' : 'false' }, o.durationSeconds);
    this.#storageWriteEntries.inc(o.entries);
  };

  // ---- scrape-time views -------------------------------------------------------------------------

  #led(): LedPartition[] {
    const out: LedPartition[] = [];
    for (const r of this.#sources?.registry.all() ?? []) {
      const status = r.status();
      const lag = r.followerLagRecords();
      if (status === undefined || lag === undefined) continue;
      out.push({ topic: r.topic, partition: r.partition, replicaSet: r.replicaSet, inSyncCount: status.inSyncReplicas?.length ?? 0, followerLagRecords: lag });
    }
    return out;
  }

  /** Committed offsets of the groups coordinated here, against the HWs this broker knows (bounded). */
  async #groupLag(): Promise<ReturnType<typeof groupLag>> {
    const sources = this.#sources;
    if (sources === undefined || sources.registry.closing) return [];
    const hw = new Map<string, PartitionLagView>();
    for (const r of sources.registry.hosted()) {
      const key = `${r.topic}\u0000${r.partition}`;
      // The leader's HW is exact; a follower's is the leader's as last seen (slightly behind).
      if (r.isLeading || !hw.has(key)) hw.set(key, { highWatermark: r.highWatermark, epochStarts: epochStartOffsets(r.log) });
    }
    const groups: GroupOffsets[] = [];
    let offsets = 0;
    try {
      for (const g of await sources.groups.list()) {
        if (offsets >= METRICS_GROUP_LAG_SERIES_MAX) break;
        if (g.group === undefined) continue;
        const described = await sources.groups.describe(g.group);
        const list = (described.offsets ?? []).map((o) => ({ topic: o.topic ?? '', partition: o.partition ?? 0, offset: Number(o.offset ?? -1) }));
        offsets += list.length;
        groups.push({ group: g.group, offsets: list });
      }
    } catch (err) {
      // Coordination moving or the broker stopping: report what was read so far.
      this.#log.debug({ err }, 'reading consumer groups for metrics failed');
    }
    return groupLag(groups, (topic, partition) => hw.get(`${topic}\u0000${partition}`), METRICS_GROUP_LAG_SERIES_MAX);
  }
}
