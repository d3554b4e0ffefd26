import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { FetchRequest__Output, RawBatchesResponse } from '@runnel/protocol';
import { FETCH_BYTES_DEFAULT, FETCH_BYTES_MAX, FETCH_WAIT_MS_MAX } from './constants.js';
import { selectDeliverable } from './deliverable-batches.js';
import type { ReplicaDriver } from './replica-driver.js';
import type { PartitionRegistry } from './partition-registry.js';
import { reportError } from './produce-handler.js';
import { RetentionLossLog } from './retention-loss-log.js';
import { checkOffsetInLog, offsetNotAvailable, type OffsetBounds } from './start-position.js';
import { callDeadline, forwardingAllowed, type Forwarder } from './forwarder.js';

/** A Fetch byte budget: 0 -> 1 MiB, capped at 16 MiB. */
export function fetchBytes(requested: number): number {
  return requested > 0 ? Math.min(requested, FETCH_BYTES_MAX) : FETCH_BYTES_DEFAULT;
}

/**
 * Waits until the HW passes `offset`, `waitMs` passes, or `cancelled` fires. Rejects when the
 * partition stops being led here (NOT_LEADER, SHUTTING_DOWN, …). No polling: woken by the leader.
 */
function waitForData(leader: ReplicaDriver, offset: number, waitMs: number, call: grpc.ServerUnaryCall<unknown, unknown>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let unlisten: (() => void) | undefined;
    const done = (error?: RunnelError): void => {
      clearTimeout(timer);
      unlisten?.();
      call.removeListener('cancelled', onCancel);
      if (error !== undefined) reject(error);
      else resolve();
    };
    const onCancel = (): void => done();
    const timer = setTimeout(() => done(), waitMs);
    call.once('cancelled', onCancel);
    try {
      unlisten = leader.addListener({
        onAdvance: (hw) => {
          if (hw > offset) done();
        },
        onEnd: (error) => {
          // Shutdown answers what there is; leadership loss is an error the client must act on.
          if (error.code === 'SHUTTING_DOWN') done();
          else done(error);
        },
      });
    } catch (err) {
      done(err instanceof RunnelError ? err : new RunnelError('INTERNAL', String(err)));
    }
  });
}

export async function fetch(
  registry: PartitionRegistry, request: FetchRequest__Output, call: grpc.ServerUnaryCall<unknown, unknown>, forwarder?: Forwarder, lossLog?: RetentionLossLog,
): Promise<RawBatchesResponse> {
  let leader: ReplicaDriver;
  try {
    leader = registry.lookup(request.topic, request.partition);
  } catch (err) {
    // A read is safe to forward whatever happened here.
    if (forwarder !== undefined && err instanceof RunnelError && err.code === 'NOT_LEADER' && err.leaderAddress !== undefined && forwardingAllowed(call.metadata)) {
      return forwarder.fetch(err.leaderAddress, request, callDeadline(call));
    }
    throw err;
  }
  const what = `${request.topic}/${request.partition}`;
  const offset = Number(request.offset);
  const bounds = (): OffsetBounds => ({ logStartOffset: leader.logStartOffset, highWatermark: leader.highWatermark, logEndOffset: leader.logEndOffset });
  if (offset >= 0 && offset < leader.logStartOffset) lossLog?.report('fetch', request.topic, request.partition, offset, leader.logStartOffset);
  checkOffsetInLog(offset, bounds(), what);
  const waitMs = Math.min(Math.max(0, request.maxWaitMs), FETCH_WAIT_MS_MAX);
  if (offset >= leader.highWatermark && waitMs > 0) await waitForData(leader, offset, waitMs, call);
  // Within the log but still above the HW (a new leader's HW can start below what consumers were
  // shown): not out of range, only not committed yet. At the HW itself the answer is just empty.
  if (offset > leader.highWatermark) throw offsetNotAvailable(offset, bounds(), what);
  let budget = fetchBytes(request.maxBytes);
  let next = offset;
  const batches: Buffer[] = [];
  const hw = leader.highWatermark;
  // Loop only to pass over control batches: a client never receives an answer made of them alone.
  while (next < hw && batches.length === 0 && next >= leader.logStartOffset) {
    const raw = await leader.read(next, budget, hw);
    const picked = selectDeliverable(raw, next, hw, (sizeBytes) => {
      if (batches.length > 0 && sizeBytes > budget) return false;
      budget -= sizeBytes;
      return true;
    });
    batches.push(...picked.batches);
    if (picked.nextOffset === next) break;
    next = picked.nextOffset;
  }
  return { batches, highWatermark: hw, logStartOffset: leader.logStartOffset };
}

export function fetchHandler(registry: PartitionRegistry, logger: Logger, forwarder?: Forwarder): grpc.handleUnaryCall<FetchRequest__Output, RawBatchesResponse> {
  const lossLog = new RetentionLossLog(logger.child({ component: 'fetch' }));
  return (call, callback) => {
    fetch(registry, call.request, call, forwarder, lossLog).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toGrpcStatus(reportError(logger, err, 'fetch'))),
    );
  };
}
