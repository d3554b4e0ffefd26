import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus } from '@runnel/protocol';
import type { ListOffsetsRequest__Output, ListOffsetsResponse, PartitionOffsets } from '@runnel/protocol';
import type { PartitionRegistry } from './partition-registry.js';
import { reportError } from './produce-handler.js';

/**
 * ListOffsets: the named partitions (or, with none named, every partition of the topic led here).
 * A named partition led elsewhere fails the call with NOT_LEADER for the first such one.
 * `offset_for_timestamp` is -1 unless `timestamp_ms` was asked.
 */
export async function listOffsets(registry: PartitionRegistry, request: ListOffsetsRequest__Output): Promise<ListOffsetsResponse> {
  const topic = registry.resolveTopic(request.topic);
  const leaders = request.partitions.length > 0
    ? request.partitions.map((p) => registry.leaderFor(registry.resolvePartition(topic, p)))
    : registry.all().filter((l) => l.topicId === topic.topicId && l.isLeading).sort((a, b) => a.partition - b.partition);
  const timestampMs = request.timestampMs ?? undefined;
  const partitions: PartitionOffsets[] = [];
  for (const leader of leaders) {
    const highWatermark = leader.highWatermark;
    let offsetForTimestamp = -1;
    if (timestampMs !== undefined) {
      const found = await leader.log.offsetForTimestamp(Number(timestampMs));
      offsetForTimestamp = found === undefined ? highWatermark : Math.min(Math.max(found, leader.logStartOffset), highWatermark);
    }
    partitions.push({
      partition: leader.partition,
      logStartOffset: leader.logStartOffset,
      highWatermark,
      logEndOffset: leader.logEndOffset,
      offsetForTimestamp,
      leaderEpoch: leader.epoch,
    });
  }
  return { topic: topic.name, partitions };
}

export function listOffsetsHandler(registry: PartitionRegistry, logger: Logger): grpc.handleUnaryCall<ListOffsetsRequest__Output, ListOffsetsResponse> {
  return (call, callback) => {
    listOffsets(registry, call.request).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toGrpcStatus(reportError(logger, err, 'list offsets'))),
    );
  };
}
