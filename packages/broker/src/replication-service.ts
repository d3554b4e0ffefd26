import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { PrepareEpochRequest__Output, PrepareEpochResponse, ReplicateFrame, ReplicateFrame__Output } from '@runnel/protocol';
import { PREPARE_EPOCH_TIMEOUT_MS_DEFAULT } from './constants.js';
import type { PartitionRegistry } from './partition-registry.js';
import { reportError } from './produce-handler.js';
import { wrongCluster } from './cluster-guard.js';
import type { MetadataView } from './metadata-view.js';
import type { ReplicationTransport } from './replication-transport.js';

/** Milliseconds left until the call's deadline (the default when it has none). */
function remainingMs(call: grpc.ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return PREPARE_EPOCH_TIMEOUT_MS_DEFAULT;
  return Math.max(1, Math.min(at - Date.now(), 60_000));
}

function validate(req: PrepareEpochRequest__Output | null | undefined): PrepareEpochRequest__Output {
  if (req === null || req === undefined) throw new RunnelError('INVALID_REQUEST', 'empty PrepareEpoch request');
  if (req.topicId === '') throw new RunnelError('INVALID_REQUEST', 'PrepareEpoch needs `topic_id`');
  if (!Number.isInteger(req.partition) || req.partition < 0) throw new RunnelError('INVALID_REQUEST', `PrepareEpoch: bad partition ${req.partition}`);
  if (!Number.isInteger(req.epoch) || req.epoch < 1) throw new RunnelError('INVALID_REQUEST', `PrepareEpoch: bad epoch ${req.epoch}`);
  return req;
}

/**
 * The internal Replication service: `Replicate` streams from follower brokers go to the transport
 * (frames dispatched to the partition replicas, replies queued on the same stream); `PrepareEpoch`
 * (refused with WRONG_CLUSTER when it comes from another cluster's coordinator) opens the
 * replica if needed, promises the epoch and answers once the promise is durable
 * (EpochPromise) or at once if a higher epoch was promised (PrepareRejected); TIMEOUT at the
 * call's deadline.
 */
export function replicationImplementation(registry: PartitionRegistry, transport: ReplicationTransport, metadata: MetadataView, logger: Logger): grpc.UntypedServiceImplementation {
  return {
    Replicate: (call: grpc.ServerDuplexStream<ReplicateFrame__Output, ReplicateFrame>) => transport.attach(call),
    PrepareEpoch: (call: grpc.ServerUnaryCall<PrepareEpochRequest__Output, PrepareEpochResponse>, callback: grpc.sendUnaryData<PrepareEpochResponse>) => {
      let req: PrepareEpochRequest__Output;
      try {
        req = validate(call.request);
        const refused = wrongCluster('PrepareEpoch', req.clusterId, metadata.snapshot.clusterId);
        if (refused !== undefined) throw refused;
      } catch (err) {
        callback(toGrpcStatus(reportError(logger, err, 'prepare epoch')));
        return;
      }
      registry.prepareEpoch(req, remainingMs(call)).then(
        (answer) => {
          if (answer.type === 'EpochPromise') {
            callback(null, { promise: { epoch: answer.epoch, replicaId: answer.replicaId, lastEpoch: answer.lastEpoch, logEndOffset: answer.logEndOffset } });
          } else {
            callback(null, { rejected: { epoch: answer.epoch, replicaId: answer.replicaId, promisedEpoch: answer.promisedEpoch } });
          }
        },
        (err: unknown) => callback(toGrpcStatus(reportError(logger, err, 'prepare epoch'))),
      );
    },
  };
}
