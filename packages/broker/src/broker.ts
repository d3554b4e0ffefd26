import type { Logger } from 'pino';
import { brokerServerDefinition, startGrpcServer } from '@runnel/protocol';
import type { ClusterMetadata__Output } from '@runnel/protocol';
import { Store } from '@runnel/storage';
import type { BrokerConfig } from './config.js';
import { SHUTDOWN_GRACE_MS, SHUTDOWN_PRODUCE_DRAIN_MS } from './constants.js';
import { CoordinatorLink } from './coordinator-link.js';
import { fetchHandler } from './fetch-handler.js';
import { listOffsetsHandler } from './list-offsets-handler.js';
import { getMetadataHandler } from './metadata-handler.js';
import { MetadataView } from './metadata-view.js';
import { PartitionRegistry } from './partition-registry.js';
import type { BrokerStore } from './partition-registry.js';
import { ProduceService, produceHandler } from './produce-handler.js';
import { produceStreamHandler } from './produce-stream-handler.js';
import { RetentionLoop } from './retention-loop.js';
import { subscribeHandler } from './subscribe-handler.js';

/** A started broker. */
export interface RunningBroker {
  /** host:port registered with the coordinator (the advertised address). */
  readonly address: string;
  /** Port actually bound. */
  readonly port: number;
  /** Stops serving, ends subscriptions (SHUTTING_DOWN), lets in-flight produces finish (bounded), closes streams and the store. Idempotent. */
  close(): Promise<void>;
}

export interface StartBrokerOptions {
  /** Wall clock, ms since the Unix epoch (append times, retention). Default Date.now. */
  readonly nowMs?: () => number;
  /** Aborting it while the broker is still registering closes what was opened and rejects. */
  readonly signal?: AbortSignal;
}

/**
 * Starts a broker: opens the store, serves the Broker service (health NOT_SERVING until
 * registered), registers with the coordinator (retrying until it answers), applies the metadata
 * from registration (opening the partitions it leads), then marks itself SERVING and resolves.
 * The caller announces readiness.
 */
export async function startBroker(config: BrokerConfig, rootLogger: Logger, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  // Each component binds its own `component`; the root carries only process-wide fields.
  const logger = rootLogger.child({ component: 'broker' });
  const nowMs = options.nowMs ?? Date.now;
  const store: BrokerStore = await Store.open(config.dataDir, { fsync: config.fsync, logger: rootLogger });
  const metadata = new MetadataView();
  const registry = new PartitionRegistry({ nodeId: config.id, store, metadata, logger, nowMs });
  const produce = new ProduceService(registry, nowMs);
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer(config.host, config.port, [
      {
        name: 'runnel.v1.Broker',
        definition: brokerServerDefinition(),
        implementation: {
          Produce: produceHandler(produce, logger),
          ProduceStream: produceStreamHandler(produce, logger),
          Subscribe: subscribeHandler(registry, logger),
          Fetch: fetchHandler(registry, logger),
          ListOffsets: listOffsetsHandler(registry, logger),
          GetMetadata: getMetadataHandler(metadata),
        },
      },
    ]);
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = config.advertisedAddress ?? `${config.host}:${server.port}`;
  const onMetadata = (snapshot: ClusterMetadata__Output): void => {
    registry.offer(snapshot).catch((err: unknown) => logger.error({ err }, 'applying metadata failed'));
  };
  const link = new CoordinatorLink({
    coordinatorAddress: config.coordinator, brokerId: config.id, advertisedAddress: address, rack: config.rack, logger, onMetadata,
  });
  const retention = new RetentionLoop(config.retentionCheckIntervalMs, () => registry.all(), logger, nowMs);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      server.setServing(false);
      registry.beginClose();
      registry.endReaders();
      await registry.finishClose(SHUTDOWN_PRODUCE_DRAIN_MS);
      await server.shutdown(SHUTDOWN_GRACE_MS);
      link.close();
      await retention.close();
      await store.close();
      logger.info('broker closed');
    })();
    return closing;
  };

  const onAbort = (): void => link.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted === true) link.close();
    logger.info({ port: server.port, address, coordinator: config.coordinator }, 'broker listening; registering');
    await link.start();
    await registry.settled();
    await registry.warnOrphans();
  } catch (err) {
    await close();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  retention.start();
  server.setServing(true);
  return { address, port: server.port, close };
}
