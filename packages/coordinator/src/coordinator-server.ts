import * as grpc from '@grpc/grpc-js';
import { normaliseError, RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { CoordinatorHandlers } from '@runnel/protocol';
import type { Logger } from 'pino';
import type { Membership } from './membership.js';
import type { MetadataController } from './metadata-controller.js';
import { toClusterMetadata } from './metadata-snapshot.js';
import type { MetadataWatchers } from './metadata-watch.js';
import type { TopicAdmin } from './topic-admin.js';

export interface CoordinatorServices {
  readonly controller: MetadataController;
  readonly membership: Membership;
  readonly topics: TopicAdmin;
  readonly watchers: MetadataWatchers;
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

  function unary<Req, Res>(method: string, run: (req: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      Promise.resolve()
        .then(() => run(call.request))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(toStatus(method, err)),
        );
    };
  }

  return {
    // Replication milestone: wired to leader election there.
    ControlledShutdown: (_call: unknown, callback: (err: Partial<grpc.StatusObject>) => void) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'controlled shutdown is not implemented yet' }),
    DeclineLeadership: (_call: unknown, callback: (err: Partial<grpc.StatusObject>) => void) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'leader election is not implemented yet' }),
    CreateTopic: unary('CreateTopic', async (req) => {
      const info = await s.topics.create({
        name: req.name,
        partitions: req.partitions,
        replicationFactor: req.replicationFactor,
        config: req.config,
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
    DescribeCluster: unary('DescribeCluster', () => toClusterMetadata(s.controller.state)),
    RegisterBroker: unary('RegisterBroker', (req) =>
      s.membership.register({ brokerId: req.brokerId, address: req.address, rack: req.rack, incarnation: req.incarnation }),
    ),
    Heartbeat: (call) => {
      s.membership.heartbeat(call);
    },
    WatchMetadata: (call) => {
      try {
        s.watchers.add(call, toClusterMetadata(s.controller.state));
      } catch (err) {
        call.emit('error', toStatus('WatchMetadata', err));
      }
    },
  };
}
