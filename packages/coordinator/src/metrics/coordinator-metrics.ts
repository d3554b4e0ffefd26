import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ElectionEvent } from '@runnel/replication';
import type { IsrLookup } from '../metadata-snapshot.js';
import type { MetadataState } from '../metadata-state.js';
import { clusterSummary } from './cluster-summary.js';
import type { ClusterSummary } from './cluster-summary.js';

/** What the scrape-time gauges read. */
export interface CoordinatorMetricsSources {
  readonly state: () => MetadataState;
  /** Brokers awaited after a coordinator restart. */
  readonly awaiting: () => ReadonlySet<number>;
  readonly isr: IsrLookup;
}

/**
 * The coordinator's Prometheus metrics (docs/metrics.md), in a registry of its own. Gauges are
 * computed from the metadata state when scraped (O(partitions)); elections are counted through
 * the election driver's event hook. Every label has a fixed set of values.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  #sources: CoordinatorMetricsSources | undefined;
  #summary: ClusterSummary | undefined;
  readonly #elections: Counter<'outcome'>;
  readonly #electionsStarted: Counter;

  constructor() {
    const registers = [this.registry];
    // Node.js process metrics under their standard names (nodejs_eventloop_lag_seconds, ...).
    collectDefaultMetrics({ register: this.registry });
    this.#electionsStarted = new Counter({ name: 'runnel_coordinator_leader_elections_started_total', help: 'Leader elections started (a partition needed a new leader, or a leadership move began).', registers });
    this.#elections = new Counter({
      name: 'runnel_coordinator_leader_elections_total',
      help: 'Leader elections finished, by outcome: elected (a majority promised), unclean (elected without a majority; topics that opted in), offline (no majority promised in time).',
      labelNames: ['outcome'], registers,
    });
    for (const outcome of ['elected', 'unclean', 'offline']) this.#elections.inc({ outcome }, 0);
    const metrics = this;
    const gauge = (name: string, help: string, value: (s: ClusterSummary) => number): void => {
      new Gauge({
        name, help, registers,
        collect() {
          const s = metrics.#summary;
          if (s !== undefined) this.set(value(s));
        },
      });
    };
    new Gauge({
      name: 'runnel_coordinator_brokers', help: 'Brokers known to the coordinator, by state: live, awaited (not yet re-registered after a coordinator restart), dead.',
      labelNames: ['state'], registers,
      collect() {
        const s = metrics.#summary;
        this.set({ state: 'live' }, s?.liveBrokers ?? 0);
        this.set({ state: 'awaited' }, s?.awaitedBrokers ?? 0);
        this.set({ state: 'dead' }, s?.deadBrokers ?? 0);
      },
    });
    gauge('runnel_coordinator_topics', 'Topics in the cluster metadata.', (s) => s.topics);
    gauge('runnel_coordinator_partitions', 'Partitions over every topic.', (s) => s.partitions);
    gauge('runnel_coordinator_offline_partitions', 'Partitions with no leader (offline, or not yet elected).', (s) => s.offlinePartitions);
    gauge('runnel_coordinator_under_replicated_partitions', 'Partitions whose leader last reported fewer in-sync replicas than replicas.', (s) => s.underReplicatedPartitions);
    gauge('runnel_coordinator_metadata_version', 'Version of the cluster metadata (+1 per applied change).', (s) => s.metadataVersion);
  }

  attach(sources: CoordinatorMetricsSources): void {
    this.#sources = sources;
  }

  /** The exposition text; the gauges read one summary of the metadata taken here. */
  render(): Promise<string> {
    const src = this.#sources;
    this.#summary = src === undefined ? undefined : clusterSummary(src.state(), src.awaiting(), src.isr);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** ElectionDriver's event hook. */
  readonly electionEvent = (ev: ElectionEvent): void => {
    switch (ev.kind) {
      case 'electing':
        this.#electionsStarted.inc();
        return;
      case 'elected':
        this.#elections.inc({ outcome: ev.unclean ? 'unclean' : 'elected' });
        return;
      case 'offline':
        this.#elections.inc({ outcome: 'offline' });
        return;
    }
  };
}
