import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  RunnelError, fromServiceError, runnelGrpc, type ErrorCode, type Position, type SubscribeRequest,
} from '@runnel/protocol';
import { callMetadata, type ConnectionPool } from './connection-pool.js';
import { RECONNECT_BACKOFF_MS_INITIAL, RECONNECT_BACKOFF_MS_MAX } from './constants.js';
import { CreditWindow } from './credit-window.js';
import type { LeaderEndpoint, MetadataCache } from './metadata-cache.js';
import type { StartFrom } from './options.js';
import { decodeSubscribeResponse, firstWantedIndex, type DecodedBatch, type DecodedSubscribeResponse } from './record-codec.js';
import { backoffMs, sleep } from './retry.js';

const SUBSCRIBE_PATH = '/runnel.v1.Broker/Subscribe';

/**
 * Codes resubscribed on whatever the `retriable` trailer says: the offset is in the log but not
 * committed on that leader yet (a new leader's HW can start below what this consumer was shown);
 * it will be, so the consumer waits with backoff rather than stopping.
 */
const RETRIED_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['OFFSET_NOT_AVAILABLE']);

/** A batch received for a partition, waiting to be handed out. */
export interface DeliveryEntry {
  readonly subscription: PartitionSubscription;
  readonly batch: DecodedBatch;
  /** Next record index to hand out. */
  index: number;
}

export interface SubscriptionDeps {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** A batch arrived (in offset order for this partition). */
  readonly deliver: (entry: DeliveryEntry) => void;
  /** A non-retriable error: the consumer stops. */
  readonly fail: (err: RunnelError) => void;
  /** The start position resolved to this offset (once, on the first stream's first message). */
  readonly started?: (startOffset: number) => void;
}

export function positionFor(from: StartFrom): Position {
  if (from === 'earliest') return { earliest: true };
  if (from === 'latest') return { latest: true };
  if ('offset' in from) return { offset: from.offset };
  return { timestampMs: from.timestampMs };
}

/**
 * The Subscribe stream of one partition, kept alive across leader changes. Sends `start` with
 * the credit window, then grants consumed credit back (CreditWindow). On a retriable failure or
 * the end of the stream it refreshes metadata and resubscribes from the next offset it has not
 * yet received (backoff capped, attempts unbounded while the consumer is open); that includes
 * OFFSET_NOT_AVAILABLE (its offset is in the log, not yet committed on a new leader). A
 * non-retriable error (OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC, …) goes to `fail`.
 */
export class PartitionSubscription {
  /** Next offset to ask the broker for: just past the last batch received. */
  private fetchOffset: number | undefined;
  /** Next offset to hand to the user. */
  private nextOffset: number | undefined;
  private readonly credit: CreditWindow;
  private call: grpc.ClientDuplexStream<SubscribeRequest, DecodedSubscribeResponse> | undefined;
  private readonly log: Logger;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly from: StartFrom,
    creditBytes: number,
    creditRecords: number,
    private readonly deps: SubscriptionDeps,
  ) {
    this.credit = new CreditWindow(creditBytes, creditRecords);
    this.log = deps.logger.child({ component: 'consumer', topic, partition });
    if (typeof from === 'object' && 'offset' in from) {
      this.fetchOffset = from.offset;
      this.nextOffset = from.offset;
    }
  }

  /** Next offset the user will get, once known. */
  get position(): number | undefined {
    return this.nextOffset;
  }

  /** Next offset asked of the broker (just past the last batch received), once known. */
  get requestedOffset(): number | undefined {
    return this.fetchOffset;
  }

  /** The user took record `offset`. */
  advance(offset: number): void {
    this.nextOffset = offset + 1;
  }

  /** Every record of `batch` was handed out or skipped: give its credit back. */
  batchDone(batch: DecodedBatch): void {
    const end = batch.baseOffset + Math.max(batch.recordCount, batch.records.length);
    if (this.nextOffset === undefined || this.nextOffset < end) this.nextOffset = end;
    const grant = this.credit.consumed(batch.sizeBytes, batch.recordCount);
    if (grant !== undefined && this.call !== undefined) this.call.write({ credit: grant });
  }

  async run(): Promise<void> {
    for (let failures = 0; !this.deps.signal.aborted; ) {
      const leader = this.deps.metadata.leaderFor(this.topic, this.partition);
      let err: RunnelError;
      let lastAddress: string | undefined;
      if (leader instanceof RunnelError) {
        err = leader;
      } else {
        lastAddress = leader.address;
        const outcome = await this.streamOnce(leader);
        if (outcome.received) failures = 0;
        err = outcome.error;
      }
      if (this.deps.signal.aborted) return;
      if (!err.retriable && !RETRIED_CODES.has(err.code)) {
        this.deps.fail(err);
        return;
      }
      this.deps.metadata.noteError(this.topic, this.partition, err);
      failures++;
      this.log.debug({ code: err.code, err: err.message, failures }, 'subscription interrupted; resubscribing');
      if (err.code === 'NOT_LEADER' && failures <= 1) {
        const hinted = this.deps.metadata.leaderFor(this.topic, this.partition);
        if (!(hinted instanceof RunnelError) && hinted.address !== lastAddress) continue;
      }
      const wait = sleep(backoffMs(failures - 1, { initialBackoffMs: RECONNECT_BACKOFF_MS_INITIAL, backoffMsMax: RECONNECT_BACKOFF_MS_MAX }), this.deps.signal, 'consumer');
      const refresh = this.deps.metadata.refresh().catch(() => undefined);
      try {
        await Promise.all([wait, refresh]);
      } catch {
        return; // closed
      }
    }
  }

  private streamOnce(leader: LeaderEndpoint): Promise<{ received: boolean; error: RunnelError }> {
    return new Promise((resolve) => {
      let received = false;
      let settled = false;
      let untrack = (): void => undefined;
      const finish = (error: RunnelError): void => {
        if (settled) return;
        settled = true;
        untrack();
        this.call = undefined;
        resolve({ received, error });
      };
      try {
        const client = this.deps.pool.broker(leader.address);
        const serialize = runnelGrpc().runnel.v1.Broker.service.Subscribe.requestSerialize;
        const call = client.makeBidiStreamRequest<SubscribeRequest, DecodedSubscribeResponse>(
          SUBSCRIBE_PATH, serialize, decodeSubscribeResponse, callMetadata(), {},
        );
        untrack = this.deps.pool.track(call);
        let first = true;
        call.on('data', (msg: DecodedSubscribeResponse) => {
          if (settled) return;
          received = true;
          if (first) {
            first = false;
            if (this.fetchOffset === undefined) {
              this.fetchOffset = msg.startOffset;
              this.deps.started?.(msg.startOffset);
            }
            if (this.nextOffset === undefined && this.fetchOffset !== undefined) this.nextOffset = this.fetchOffset;
          }
          for (const batch of msg.batches) this.onBatch(batch);
          if (msg.nextOffset > (this.fetchOffset ?? msg.nextOffset)) this.onSkipped(msg.nextOffset);
        });
        call.on('error', (e: unknown) => finish(fromServiceError(e)));
        call.on('end', () => finish(new RunnelError('UNREACHABLE', `subscription to ${leader.address} ended`, { retriable: true })));
        const credit = this.credit.startStream();
        const start = {
          topic: this.topic,
          partition: this.partition,
          position: this.fetchOffset !== undefined ? { offset: this.fetchOffset } : positionFor(this.from),
          ...(credit !== undefined ? { credit } : {}),
        };
        this.call = call;
        call.write({ start });
        this.log.debug({ address: leader.address, brokerId: leader.id, position: start.position }, 'subscribed');
      } catch (e) {
        finish(fromServiceError(e));
      }
    });
  }

  private onBatch(batch: DecodedBatch): void {
    this.credit.received(batch.sizeBytes, batch.recordCount);
    const wanted = this.fetchOffset ?? batch.baseOffset;
    const end = batch.baseOffset + Math.max(batch.recordCount, batch.records.length);
    if (this.fetchOffset === undefined || end > this.fetchOffset) this.fetchOffset = end;
    if (this.nextOffset === undefined) this.nextOffset = Math.min(wanted, end);
    this.deps.deliver({ subscription: this, batch, index: firstWantedIndex(batch, wanted) });
  }

  /**
   * The broker passed over control batches (never delivered) up to `offset`: queued behind the
   * batches before it as an empty batch, so the position moves past them once those are taken.
   */
  private onSkipped(offset: number): void {
    this.fetchOffset = offset;
    const marker: DecodedBatch = { baseOffset: offset, recordCount: 0, leaderEpoch: 0, maxTimestampMs: 0, attributes: 0, records: [], sizeBytes: 0 };
    this.deps.deliver({ subscription: this, batch: marker, index: 0 });
  }

  /** Cancels the current stream (the run loop sees the abort signal and stops). */
  cancel(): void {
    this.call?.cancel();
  }
}
