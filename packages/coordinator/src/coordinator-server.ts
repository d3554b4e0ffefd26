import * as grpc from '@grpc/grpc-js';
import { normaliseError, RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { CoordinatorHandlers } from '@runnel/protocol';
import type { Logger } from 'pino';
import { assertBrokerCaller } from './broker-authority.js';
import type { ElectionDriver } from './election-driver.js';
import type { LeadershipMoves } from './leadership-moves.js';
import type { Membership } from './membership.js';
import type { MetadataController } from './metadata-controller.js';
import { toClusterMetadata } from './metadata-snapshot.js';
import type { IsrLookup } from './metadata-snapshot.js';
import type { MetadataWatchers } from './metadata-watch.js';
import type { TopicAdmin } from './topic-admin.js';

export interface CoordinatorServices {
  readonly controller: MetadataController;
  readonly membership: Membership;
  readonly topics: TopicAdmin;
  readonly watchers: MetadataWatchers;
  readonly elections: ElectionDriver;
  readonly moves: LeadershipMoves;
  readonly isr: IsrLookup;
  readonly log: Logger;
}

/**
 * The gRPC edge: decodes requests, calls the components, maps every error to a status with
 * `toGrpcStatus(normaliseError(err))`. Unknown (non-Runnel) errors are logged here.
 */
export function coordinatorHandlers(s: CoordinatorServices): CoordinatorHandlers {
  const toStatus = (method: string, err: unknown): Partial<grpc.StatusObject> => {
    const e = normaliseError(err);
    if (!(err instanceof RunnelError)) s.log.error({ err, method }, 'unexpected error');
    else s.log.debug({ method, code: e.code, message: e.message }, 'request refused');
    return toGrpcStatus(e);
  };

  function unary<Req, Res>(method: string, run: (req: Req, metadata: grpc.Metadata) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      Promise.resolve()
        .then(() => run(call.request, call.metadata))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(toStatus(method, err)),
        );
    };
  }

  return {
    ControlledShutdown: unary('ControlledShutdown', async (req) => ({
      leadershipsRemaining: await s.moves.controlledShutdown(req.brokerId, req.incarnation),
    })),
    DeclineLeadership: unary('DeclineLeadership', (req) => {
      const broker = s.controller.state.brokers.get(req.brokerId);
      if (broker === undefined || broker.incarnation !== req.incarnation) {
        throw new RunnelError('UNKNOWN_BROKER', `broker ${req.brokerId} (incarnation ${JSON.stringify(req.incarnation)}) is not registered; register first`);
      }
      const unknown = (): RunnelError => new RunnelError('UNKNOWN_PARTITION', `no partition ${req.partition} of topic id ${JSON.stringify(req.topicId)}`);
      const fields = { brokerId: req.brokerId, topicId: req.topicId, partition: req.partition, epoch: req.epoch };
      if (req.isolated) {
        const outcome = s.elections.isolated(req.topicId, req.partition, req.epoch, req.brokerId);
        if (outcome === undefined) throw unknown();
        // Re-sent every few seconds while it lasts: only a move is worth a warning.
        if (outcome === 'moving') s.log.warn(fields, 'leader cut off from a majority of its replicas: moving the leadership');
        else s.log.debug(fields, 'leader cut off from a majority of its replicas: kept (the others cannot form a majority, or it no longer leads)');
        return {};
      }
      if (!s.elections.declined(req.topicId, req.partition, req.epoch, req.brokerId)) throw unknown();
      s.log.info(fields, 'leadership declined');
      return {};
    }),
    CreateTopic: unary('CreateTopic', async (req, metadata) => {
      if (req.internal) assertBrokerCaller(s.controller.state, metadata);
      const info = await s.topics.create({
        name: req.name,
        partitions: req.partitions,
        replicationFactor: req.replicationFactor,
        config: req.config,
        internal: req.internal,
      });
      s.log.info({ topic: info.name, topicId: info.topicId, partitions: req.partitions, replicationFactor: info.replicationFactor }, 'topic created');
      return info;
    }),
    DeleteTopic: unary('DeleteTopic', async (req) => {
      await s.topics.delete(req.name);
      s.log.info({ topic: req.name }, 'topic deleted');
      return {};
    }),
    ListTopics: unary('ListTopics', () => ({ topics: s.topics.list() })),
    DescribeTopic: unary('DescribeTopic', (req) => s.topics.describe(req.name)),
    DescribeCluster: unary('DescribeCluster', () => toClusterMetadata(s.controller.state, s.isr)),
    RegisterBroker: unary('RegisterBroker', (req) =>
      s.membership.register({ brokerId: req.brokerId, address: req.address, rack: req.rack, incarnation: req.incarnation }),
    ),
    Heartbeat: (call) => {
      s.membership.heartbeat(call);
    },
    WatchMetadata: (call) => {
      try {
        s.watchers.add(call, toClusterMetadata(s.controller.state, s.isr));
      } catch (err) {
        call.emit('error', toStatus('WatchMetadata', err));
      }
    },
  };
}
