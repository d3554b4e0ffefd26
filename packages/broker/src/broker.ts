import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, brokerServerDefinition, runnelGrpc, startGrpcServer, startMetricsServer, streamLimits, type MetricsServer } from '@runnel/protocol';
import type { ClusterMetadata__Output } from '@runnel/protocol';
import { Store } from '@runnel/storage';
import type { BrokerConfig } from './config.js';
import { GROUP_TICK_MS, REPLICA_TICK_MS, SHUTDOWN_BUDGET_MS, SHUTDOWN_GRACE_MS, SHUTDOWN_PRODUCE_DRAIN_MS } from './constants.js';
import { guardCluster } from './cluster-guard.js';
import { controlledShutdown } from './controlled-shutdown.js';
import { CoordinatorLink } from './coordinator-link.js';
import { fetchHandler } from './fetch-handler.js';
import { listOffsetsHandler } from './list-offsets-handler.js';
import { BrokerMetrics } from './metrics/broker-metrics.js';
import { InstrumentedProduceService, instrumentFetch, instrumentSubscribe } from './metrics/instrument.js';
import { Forwarder } from './forwarder.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { groupHandlers } from './groups/group-service.js';
import { getMetadataHandler } from './metadata-handler.js';
import { MetadataView } from './metadata-view.js';
import { PartitionRegistry } from './partition-registry.js';
import type { BrokerStore } from './partition-registry.js';
import { ProduceService, produceHandler } from './produce-handler.js';
import { produceStreamHandler } from './produce-stream-handler.js';
import { replicationImplementation } from './replication-service.js';
import { ReplicationTransport } from './replication-transport.js';
import type { ReplicationFaults } from './replication-transport.js';
import { RetentionLoop } from './retention-loop.js';
import { subscribeHandler } from './subscribe-handler.js';

const SUBSCRIBE_PATH = '/runnel.v1.Broker/Subscribe';
const PRODUCE_STREAM_PATH = '/runnel.v1.Broker/ProduceStream';

/** A started broker. */
export interface RunningBroker {
  /** host:port registered with the coordinator (the advertised address). */
  readonly address: string;
  /** Port actually bound. */
  readonly port: number;
  /**
   * Controlled shutdown first (asks the coordinator to move leaderships away while still serving,
   * bounded), then stops serving, ends subscriptions (SHUTTING_DOWN), lets in-flight produces
   * finish (bounded), closes streams and the store. Idempotent.
   */
  close(): Promise<void>;
}

export interface StartBrokerOptions {
  /** Wall clock, ms since the Unix epoch (append times, retention). Default Date.now. */
  readonly nowMs?: () => number;
  /** Aborting it while the broker is still registering closes what was opened and rejects. */
  readonly signal?: AbortSignal;
  /** Tests: peers whose replication messages this broker drops, both ways. */
  readonly replicationFaults?: ReplicationFaults;
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
  // Metrics only when asked for (--metrics-port): otherwise no hook is installed anywhere.
  const metrics = config.metricsPort === 0 ? undefined : new BrokerMetrics(rootLogger);
  const store: BrokerStore = await Store.open(config.dataDir, {
    fsync: config.fsync, logger: rootLogger, ...(config.testPowerLoss === 'off' ? {} : { powerLoss: config.testPowerLoss }),
    ...(metrics === undefined ? {} : { onGroupWrite: metrics.storageWrite }),
  });
  if (config.testFault !== 'none') logger.warn({ testFault: config.testFault }, 'TEST FAULT ENABLED: this broker deliberately breaks its guarantees');
  const metadata = new MetadataView();
  // Late-bound: the transport and the link need the registry, and the registry sends through them.
  let link: CoordinatorLink | undefined;
  const transport: ReplicationTransport = new ReplicationTransport({
    nodeId: config.id, metadata, logger: rootLogger.child({ component: 'replication' }),
    deliver: (_from, input) => registry.deliver(input.topicId, input.partition, input.msg),
    ...(options.replicationFaults !== undefined ? { faults: options.replicationFaults } : {}),
  });
  const registry: PartitionRegistry = new PartitionRegistry({
    nodeId: config.id, store, metadata, logger, nowMs,
    send: (to, topicId, partition, msg) => transport.send(to, topicId, partition, msg),
    onDeclined: (topicId, partition, epoch, isolated) => link?.declineLeadership(topicId, partition, epoch, isolated),
    ...(metrics === undefined ? {} : { onProduced: metrics.produced }),
  });
  const noAckDrops = { logger: rootLogger, ...(metrics === undefined ? {} : { onDropped: metrics.produceDropped }) };
  const produce = metrics === undefined
    ? new ProduceService(registry, nowMs, config.testFault === 'ack-before-quorum', noAckDrops)
    : new InstrumentedProduceService(metrics, registry, nowMs, config.testFault === 'ack-before-quorum', noAckDrops);
  const forwarder = new Forwarder(logger.child({ component: 'forwarder' }));
  const groups = new GroupCoordinator({ nodeId: config.id, registry, metadata, produce, logger, nowMs });
  // Process-wide, whatever connection a stream comes on (docs/configuration.md "Streams and connections").
  const limits = streamLimits([
    { path: SUBSCRIBE_PATH, max: config.subscriptionsMax, what: 'Subscribe streams', flag: '--subscriptions-max' },
    { path: PRODUCE_STREAM_PATH, max: config.produceStreamsMax, what: 'ProduceStream streams', flag: '--produce-streams-max' },
  ]);
  metrics?.attach({
    registry, metadata, groups, openStreams: () => ({ subscribe: limits.open(SUBSCRIBE_PATH), produce_stream: limits.open(PRODUCE_STREAM_PATH) }),
  });
  const subscribe = subscribeHandler(registry, logger, forwarder);
  const fetch = fetchHandler(registry, logger, forwarder);
  const brokerDefinition = brokerServerDefinition();
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer(config.host, config.port, [
      {
        name: 'runnel.v1.Broker',
        definition: brokerDefinition,
        implementation: guardCluster(brokerDefinition, {
          Produce: produceHandler(produce, logger, forwarder),
          ProduceStream: produceStreamHandler(produce, logger, forwarder),
          Subscribe: metrics === undefined ? subscribe : instrumentSubscribe(subscribe, metrics),
          Fetch: metrics === undefined ? fetch : instrumentFetch(fetch, metrics),
          ListOffsets: listOffsetsHandler(registry, logger),
          GetMetadata: getMetadataHandler(metadata),
          ...groupHandlers({
            groups, registry, metadata, nowMs, logger,
            createInternalTopic: (name, partitions) => {
              if (link === undefined) return Promise.reject(new RunnelError('COORDINATOR_UNAVAILABLE', 'not registered with the coordinator yet'));
              return link.createInternalTopic(name, partitions);
            },
          }),
        }, () => metadata.snapshot.clusterId),
      },
      {
        name: 'runnel.v1.Replication',
        definition: runnelGrpc().runnel.v1.Replication.service as unknown as grpc.ServiceDefinition,
        implementation: replicationImplementation(registry, transport, metadata, logger),
      },
    ], { streamLimits: limits });
  } catch (err) {
    transport.close();
    await store.close();
    throw err;
  }
  let started = false;
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined) {
    try {
      metricsServer = await startMetricsServer({
        host: config.metricsHost ?? config.host, port: config.metricsPort, logger: rootLogger,
        render: () => metrics.render(), contentType: metrics.contentType, serving: () => started && !registry.closing,
      });
    } catch (err) {
      await server.shutdown(0);
      forwarder.close();
      transport.close();
      await store.close();
      throw err;
    }
  }
  const address = config.advertisedAddress ?? `${config.host}:${server.port}`;
  const onMetadata = (snapshot: ClusterMetadata__Output): void => {
    registry.offer(snapshot).catch((err: unknown) => logger.error({ err }, 'applying metadata failed'));
  };
  const coordinator = new CoordinatorLink({
    coordinatorAddress: config.coordinator, brokerId: config.id, advertisedAddress: address, rack: config.rack, logger, onMetadata,
    leaderStatuses: () => registry.leaderStatuses(),
  });
  link = coordinator;
  const retention = new RetentionLoop(config.retentionCheckIntervalMs, () => registry.hosted(), logger, nowMs);
  // One broker-wide replica clock: every hosted replica ticks every REPLICA_TICK_MS.
  const ticker = setInterval(() => registry.tick(), REPLICA_TICK_MS);
  const groupTicker = setInterval(() => groups.tick(), GROUP_TICK_MS);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closeStartMs = Date.now();
      if (started) await controlledShutdown(coordinator, logger, () => registry.all().length);
      server.setServing(false);
      registry.beginClose();
      clearInterval(groupTicker);
      groups.close(new RunnelError('SHUTTING_DOWN', `broker ${config.id} is shutting down; find the group's new coordinator`));
      registry.endReaders();
      const drainMs = Math.max(1_000, Math.min(SHUTDOWN_PRODUCE_DRAIN_MS, SHUTDOWN_BUDGET_MS - (Date.now() - closeStartMs)));
      await registry.finishClose(drainMs);
      clearInterval(ticker);
      forwarder.close();
      transport.close();
      await server.shutdown(SHUTDOWN_GRACE_MS);
      coordinator.close();
      await retention.close();
      await store.close();
      await metricsServer?.close();
      logger.info('broker closed');
    })();
    return closing;
  };

  const onAbort = (): void => coordinator.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted === true) coordinator.close();
    logger.info({ port: server.port, address, coordinator: config.coordinator }, 'broker listening; registering');
    await coordinator.start();
    await registry.settled();
    await registry.warnOrphans();
  } catch (err) {
    await close();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  retention.start();
  started = true;
  server.setServing(true);
  return { address, port: server.port, close };
}
