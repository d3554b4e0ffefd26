import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { PARTITIONS_MAX, RunnelError, toGrpcStatus, type RunnelErrorOptions } from '@runnel/protocol';
import type { ListOffsetsRequest__Output, ListOffsetsResponse, PartitionOffsets } from '@runnel/protocol';
import type { ReplicaDriver } from './replica-driver.js';
import type { PartitionRegistry } from './partition-registry.js';
import { reportError } from './produce-handler.js';
import { checkTimestampMs, offsetForTimestamp } from './start-position.js';

/**
 * ListOffsets, answered by the leader: the named partitions, or with none named every partition
 * of the topic (never a silent subset). A partition led elsewhere fails the whole call with
 * NOT_LEADER naming its leader (the first such one). `offset_for_timestamp` is -1 unless
 * `timestamp_ms` was asked.
 */
export async function listOffsets(registry: PartitionRegistry, request: ListOffsetsRequest__Output): Promise<ListOffsetsResponse> {
  const topic = registry.resolveTopic(request.topic);
  if (request.partitions.length > PARTITIONS_MAX) {
    throw new RunnelError('INVALID_REQUEST', `ListOffsets names ${request.partitions.length} partitions; at most ${PARTITIONS_MAX} (a topic's most) may be named`);
  }
  const all = request.partitions.length === 0;
  const numbers = all ? topic.partitions.map((p) => p.partition).sort((a, b) => a - b) : request.partitions;
  const timestampMs = request.timestampMs === null || request.timestampMs === undefined
    ? undefined
    : checkTimestampMs(request.timestampMs, 'timestamp_ms', `${topic.name}`, 'INVALID_REQUEST');
  const leaders: ReplicaDriver[] = [];
  for (const p of numbers) {
    const target = registry.resolvePartition(topic, p);
    try {
      leaders.push(registry.leaderFor(target));
    } catch (err) {
      if (all && err instanceof RunnelError && err.code === 'NOT_LEADER') throw allPartitionsHint(err);
      throw err;
    }
  }
  const partitions: PartitionOffsets[] = [];
  for (const leader of leaders) {
    const bounds = { logStartOffset: leader.logStartOffset, highWatermark: leader.highWatermark, logEndOffset: leader.logEndOffset };
    partitions.push({
      partition: leader.partition,
      logStartOffset: bounds.logStartOffset,
      highWatermark: bounds.highWatermark,
      logEndOffset: bounds.logEndOffset,
      offsetForTimestamp: timestampMs === undefined ? -1 : await offsetForTimestamp(timestampMs, bounds, (ts) => leader.log.offsetForTimestamp(ts)),
      leaderEpoch: leader.epoch,
    });
  }
  return { topic: topic.name, partitions };
}

/** The same NOT_LEADER (same leader hints), saying how to ask for partitions led by several brokers. */
function allPartitionsHint(err: RunnelError): RunnelError {
  const options: RunnelErrorOptions = { cause: err };
  if (err.leaderId !== undefined) options.leaderId = err.leaderId;
  if (err.leaderAddress !== undefined) options.leaderAddress = err.leaderAddress;
  return new RunnelError(
    'NOT_LEADER',
    `${err.message}; ListOffsets without partitions answers every partition of the topic, so only a broker leading them all can: name the partitions, and ask each partition's leader`,
    options,
  );
}

export function listOffsetsHandler(registry: PartitionRegistry, logger: Logger): grpc.handleUnaryCall<ListOffsetsRequest__Output, ListOffsetsResponse> {
  return (call, callback) => {
    listOffsets(registry, call.request).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toGrpcStatus(reportError(logger, err, 'list offsets'))),
    );
  };
}
