import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, toGrpcStatus } from '@runnel/protocol';
import type {
  CommitOffsetsRequest__Output, CommitOffsetsResponse, DescribeGroupRequest__Output, FetchOffsetsRequest__Output, FetchOffsetsResponse,
  FindGroupCoordinatorRequest__Output, FindGroupCoordinatorResponse, GroupDescription, ListGroupsRequest__Output, ListGroupsResponse,
} from '@runnel/protocol';
import { GROUP_FIND_WAIT_MS, OFFSETS_PARTITIONS } from '../constants.js';
import type { MetadataView } from '../metadata-view.js';
import type { PartitionRegistry } from '../partition-registry.js';
import { reportError } from '../produce-handler.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { groupSessionHandler } from './group-session.js';
import { OFFSETS_TOPIC, assertValidGroupName, offsetsPartitionFor } from './offsets-records.js';

export interface GroupServiceDeps {
  readonly groups: GroupCoordinator;
  readonly registry: PartitionRegistry;
  readonly metadata: MetadataView;
  readonly nowMs: () => number;
  readonly logger: Logger;
  /** Asks the coordinator to create an internal topic (already existing counts as success). */
  readonly createInternalTopic: (name: string, partitions: number) => Promise<void>;
}

function unary<Req, Res>(logger: Logger, what: string, run: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    run(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toGrpcStatus(reportError(logger, err, what))),
    );
  };
}

/** The Broker service's group RPCs. */
export function groupHandlers(deps: GroupServiceDeps): {
  FindGroupCoordinator: grpc.handleUnaryCall<FindGroupCoordinatorRequest__Output, FindGroupCoordinatorResponse>;
  GroupSession: ReturnType<typeof groupSessionHandler>;
  CommitOffsets: grpc.handleUnaryCall<CommitOffsetsRequest__Output, CommitOffsetsResponse>;
  FetchOffsets: grpc.handleUnaryCall<FetchOffsetsRequest__Output, FetchOffsetsResponse>;
  DescribeGroup: grpc.handleUnaryCall<DescribeGroupRequest__Output, GroupDescription>;
  ListGroups: grpc.handleUnaryCall<ListGroupsRequest__Output, ListGroupsResponse>;
} {
  const { groups, registry, metadata, logger } = deps;
  let creating: Promise<void> | undefined;

  const find = async (req: FindGroupCoordinatorRequest__Output): Promise<FindGroupCoordinatorResponse> => {
    registry.assertOpen();
    assertValidGroupName(req.group);
    if (metadata.topic(OFFSETS_TOPIC) === undefined) {
      creating ??= deps.createInternalTopic(OFFSETS_TOPIC, OFFSETS_PARTITIONS).finally(() => {
        creating = undefined;
      });
      await creating;
      await registry.awaitMetadata(() => metadata.topic(OFFSETS_TOPIC) !== undefined, GROUP_FIND_WAIT_MS);
    }
    const topic = groups.offsetsTopic();
    const partition = offsetsPartitionFor(req.group, topic.partitions.length);
    const leader = (): ReturnType<MetadataView['leaderOf']> | undefined => {
      const t = metadata.topic(OFFSETS_TOPIC);
      const info = t === undefined ? undefined : metadata.partition(t, partition);
      return info === undefined ? undefined : metadata.leaderOf(info);
    };
    await registry.awaitMetadata(() => leader()?.online === true, GROUP_FIND_WAIT_MS);
    const who = leader();
    if (who === undefined || !who.online || who.leaderAddress === undefined) {
      throw new RunnelError('NOT_COORDINATOR', `${OFFSETS_TOPIC}/${partition}, which holds group ${JSON.stringify(req.group)}, has no leader right now; retry`);
    }
    return { group: req.group, brokerId: who.leaderId, address: who.leaderAddress, offsetsPartition: partition };
  };

  return {
    FindGroupCoordinator: unary(logger, 'find group coordinator', find),
    GroupSession: groupSessionHandler(groups, deps.nowMs, logger),
    CommitOffsets: unary(logger, 'commit offsets', async (req: CommitOffsetsRequest__Output) => {
      registry.assertOpen();
      await groups.commit(req);
      return {};
    }),
    FetchOffsets: unary(logger, 'fetch offsets', async (req: FetchOffsetsRequest__Output) => {
      registry.assertOpen();
      return { offsets: await groups.fetchOffsets(req) };
    }),
    DescribeGroup: unary(logger, 'describe group', async (req: DescribeGroupRequest__Output) => {
      registry.assertOpen();
      return groups.describe(req.group);
    }),
    ListGroups: unary(logger, 'list groups', async () => {
      registry.assertOpen();
      return { groups: await groups.list() };
    }),
  };
}
