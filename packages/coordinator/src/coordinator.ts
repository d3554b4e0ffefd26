import { guardCluster, runnelGrpc, startGrpcServer, startMetricsServer, type MetricsServer } from '@runnel/protocol';
import type { RunningServer } from '@runnel/protocol';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from './config.js';
import { SHUTDOWN_GRACE_MS } from './constants.js';
import { coordinatorHandlers } from './coordinator-server.js';
import { ElectionDriver } from './election-driver.js';
import { LeaderStatusTable } from './leader-status.js';
import { LeadershipMoves } from './leadership-moves.js';
import { Membership } from './membership.js';
import { MetadataController } from './metadata-controller.js';
import { toClusterMetadata } from './metadata-snapshot.js';
import { loadState } from './metadata-store.js';
import { MetadataPush } from './metadata-push.js';
import { acceptEncodedSnapshots, MetadataWatchers } from './metadata-watch.js';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.js';
import { openMetaStore } from './meta-store-open.js';
import type { OpenedMetaStore } from './meta-store-open.js';
import { PrepareEpochClient } from './prepare-epoch-client.js';
import type { PrepareEpochTransport } from './prepare-epoch-client.js';
import { TopicAdmin } from './topic-admin.js';

export interface StartCoordinatorOptions {
  /** Opens the metadata store; default: LevelDB (@runnel/storage) in `config.dataDir`, fsync always. */
  readonly openStore?: (dataDir: string, log: Logger) => Promise<OpenedMetaStore>;
  /** How PrepareEpoch reaches brokers; default: gRPC (Replication.PrepareEpoch). */
  readonly prepareTransport?: (log: Logger) => PrepareEpochTransport;
}

export interface RunningCoordinator {
  /** host:port it serves on. */
  readonly address: string;
  readonly port: number;
  readonly clusterId: string;
  /** Stops serving (in-flight calls get a grace period), ends watch and heartbeat streams, closes the store. */
  close(): Promise<void>;
}

/**
 * Opens the store, loads the metadata, starts membership (every stored broker not-alive until it
 * registers again) and serves the Coordinator service with health and reflection. Health turns
 * SERVING once everything is up.
 */
export async function startCoordinator(config: CoordinatorConfig, logger: Logger, options: StartCoordinatorOptions = {}): Promise<RunningCoordinator> {
  // Each component binds its own `component`; the root carries only process-wide fields.
  const log = logger.child({ component: 'coordinator' });
  const store = await (options.openStore ?? openMetaStore)(config.dataDir, logger);
  let server: RunningServer | undefined;
  let membership: Membership | undefined;
  let driver: ElectionDriver | undefined;
  let moves: LeadershipMoves | undefined;
  let metricsServer: MetricsServer | undefined;
  let pusher: MetadataPush | undefined;
  // Metrics only when asked for (--metrics-port).
  const metrics = config.metricsPort === 0 ? undefined : new CoordinatorMetrics();
  try {
    const { state, created } = await loadState(store.meta);
    log.info({ clusterId: state.clusterId, version: state.version, brokers: state.brokers.size, topics: state.topics.size, created }, 'metadata loaded');
    const definition = acceptEncodedSnapshots(runnelGrpc().runnel.v1.Coordinator.service);
    const encodeSnapshot = definition['WatchMetadata']!.responseSerialize;
    const watchers = new MetadataWatchers({ encode: (snapshot) => encodeSnapshot(snapshot) });
    const status = new LeaderStatusTable();
    let elections: ElectionDriver | undefined;
    const push = new MetadataPush((next) => {
      status.prune(next);
      watchers.publish(toClusterMetadata(next, status.isr));
    });
    pusher = push;
    const controller = new MetadataController(store.meta, state, log, (next) => {
      push.changed(next);
      elections?.sync(next);
    });
    const members = new Membership({
      controller,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      log,
      onAwaitingChange: () => elections?.sync(controller.state),
      onLeaderStatus: (brokerId, statuses) => status.report(controller.state, brokerId, statuses),
    });
    membership = members;
    await members.start();
    const electionLog = logger.child({ component: 'election' });
    elections = new ElectionDriver({
      controller,
      transport: (options.prepareTransport ?? ((l: Logger) => new PrepareEpochClient(l, controller.state.clusterId)))(electionLog),
      log: electionLog,
      awaiting: () => members.awaitingBrokerIds(),
      ...(metrics === undefined ? {} : { onEvent: metrics.electionEvent }),
    });
    driver = elections;
    elections.start();
    const leadership = new LeadershipMoves({ controller, driver: elections, status, log: electionLog, preferredLeaderCheckIntervalMs: config.preferredLeaderCheckIntervalMs });
    moves = leadership;
    leadership.start();
    const topics = new TopicAdmin(controller, { isr: status.isr, nextChange: (ms) => elections.nextChange(ms) });
    const handlers = coordinatorHandlers({ controller, membership: members, topics, watchers, log, elections, moves: leadership, isr: status.isr });
    // A call naming another cluster (CLUSTER_ID_HEADER) is refused, as brokers do: its address may
    // since have been taken by this cluster's coordinator.
    const implementation = guardCluster(definition, handlers, () => controller.state.clusterId, 'coordinator');
    server = await startGrpcServer(config.host, config.port, [
      { name: 'runnel.v1.Coordinator', definition, implementation },
    ]);
    let closing: Promise<void> | undefined;
    if (metrics !== undefined) {
      metrics.attach({ state: () => controller.state, awaiting: () => members.awaitingBrokerIds(), isr: status.isr });
      metricsServer = await startMetricsServer({
        host: config.metricsHost ?? config.host, port: config.metricsPort, logger,
        render: () => metrics.render(), contentType: metrics.contentType, serving: () => closing === undefined,
      });
    }
    const endpoint = metricsServer;
    server.setServing(true);
    const running = server;
    const address = `${config.host}:${server.port}`;
    log.info({ address, sessionTimeoutMs: config.sessionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs }, 'coordinator serving');
    return {
      address,
      port: server.port,
      clusterId: state.clusterId,
      close() {
        closing ??= (async () => {
          running.setServing(false);
          leadership.close();
          elections.close();
          members.close();
          push.close();
          watchers.closeAll();
          await running.shutdown(SHUTDOWN_GRACE_MS);
          await controller.drain();
          await store.close();
          await endpoint?.close();
          log.info('coordinator closed');
        })();
        return closing;
      },
    };
  } catch (err) {
    moves?.close();
    driver?.close();
    pusher?.close();
    membership?.close();
    if (server !== undefined) await server.shutdown(0);
    await metricsServer?.close();
    await store.close();
    throw err;
  }
}
