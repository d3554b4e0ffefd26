import { runnelGrpc, startGrpcServer } from '@runnel/protocol';
import type { RunningServer } from '@runnel/protocol';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from './config.js';
import { SHUTDOWN_GRACE_MS } from './constants.js';
import { coordinatorHandlers } from './coordinator-server.js';
import { Membership } from './membership.js';
import { MetadataController } from './metadata-controller.js';
import { toClusterMetadata } from './metadata-snapshot.js';
import { loadState } from './metadata-store.js';
import { MetadataWatchers } from './metadata-watch.js';
import { openMetaStore } from './meta-store-open.js';
import type { OpenedMetaStore } from './meta-store-open.js';
import { TopicAdmin } from './topic-admin.js';

export interface StartCoordinatorOptions {
  /** Opens the metadata store; default: LevelDB (@runnel/storage) in `config.dataDir`, fsync always. */
  readonly openStore?: (dataDir: string, log: Logger) => Promise<OpenedMetaStore>;
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
  try {
    const { state, created } = await loadState(store.meta);
    log.info({ clusterId: state.clusterId, version: state.version, brokers: state.brokers.size, topics: state.topics.size, created }, 'metadata loaded');
    const watchers = new MetadataWatchers();
    const controller = new MetadataController(store.meta, state, log, (next) => watchers.publish(toClusterMetadata(next)));
    membership = new Membership({ controller, sessionTimeoutMs: config.sessionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs, log });
    await membership.start();
    const topics = new TopicAdmin(controller);
    const handlers = coordinatorHandlers({ controller, membership, topics, watchers, log });
    server = await startGrpcServer(config.host, config.port, [
      { name: 'runnel.v1.Coordinator', definition: runnelGrpc().runnel.v1.Coordinator.service, implementation: handlers },
    ]);
    server.setServing(true);
    const running = server;
    const members = membership;
    const address = `${config.host}:${server.port}`;
    log.info({ address, sessionTimeoutMs: config.sessionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs }, 'coordinator serving');
    let closing: Promise<void> | undefined;
    return {
      address,
      port: server.port,
      clusterId: state.clusterId,
      close() {
        closing ??= (async () => {
          running.setServing(false);
          members.close();
          watchers.closeAll();
          await running.shutdown(SHUTDOWN_GRACE_MS);
          await controller.drain();
          await store.close();
          log.info('coordinator closed');
        })();
        return closing;
      },
    };
  } catch (err) {
    membership?.close();
    if (server !== undefined) await server.shutdown(0);
    await store.close();
    throw err;
  }
}
