import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { SubscribeRequest__Output, SubscribeStart__Output, RawBatchesResponse } from '@runnel/protocol';
import { SUBSCRIBE_READ_BYTES_MAX } from './constants.js';
import { CreditWindow } from './credit-window.js';
import { selectDeliverable } from './deliverable-batches.js';
import type { HighWatermarkListener, ReplicaDriver } from './replica-driver.js';
import type { PartitionRegistry } from './partition-registry.js';
import { reportError } from './produce-handler.js';
import { RetentionLossLog } from './retention-loss-log.js';
import { offsetDeleted, resolveStartPosition } from './start-position.js';
import { forwardingAllowed, type Forwarder } from './forwarder.js';

type Call = grpc.ServerDuplexStream<SubscribeRequest__Output, RawBatchesResponse>;

/**
 * One Subscribe call: resolves the start position, sends a first message (no batches) carrying
 * `start_offset` and the HW, then pushes committed batches while the credit allows (CreditWindow; a
 * batch may overdraw), waiting - without polling - for the HW to move, for credit, or for the
 * client to read (write() returned false). Leadership lost or shutdown ends the call with that
 * error; the client cancelling ends it quietly. Every listener is removed on every exit.
 */
export class SubscriptionSession implements HighWatermarkListener {
  private readonly credit = new CreditWindow();
  private started = false;
  private ended = false;
  private leader: ReplicaDriver | undefined;
  private unlisten: (() => void) | undefined;
  private nextOffset = 0;
  private writeBlocked = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly call: Call,
    private readonly registry: PartitionRegistry,
    private readonly logger: Logger,
    private readonly lossLog: RetentionLossLog,
    private readonly forwarder?: Forwarder,
  ) {}

  start(): void {
    this.call.on('data', (message: SubscribeRequest__Output) => this.onMessage(message));
    this.call.on('cancelled', () => this.finish(undefined));
    this.call.on('error', () => this.finish(undefined));
    this.call.on('drain', () => {
      this.writeBlocked = false;
      this.signal();
    });
    // A client half-close only means "no more credit": what was granted is still served.
  }

  onAdvance(): void {
    this.signal();
  }

  onEnd(error: RunnelError): void {
    this.finish(error);
  }

  private onMessage(message: SubscribeRequest__Output): void {
    if (this.ended) return;
    if (!this.started) {
      this.started = true;
      if (message.kind !== 'start' || message.start === null || message.start === undefined) {
        this.finish(new RunnelError('INVALID_REQUEST', 'the first Subscribe message must be `start` (topic, partition, position)'));
        return;
      }
      this.run(message.start).catch((err: unknown) => this.finish(reportError(this.logger, err, 'subscribe')));
      return;
    }
    if (message.kind === 'credit' && message.credit !== null && message.credit !== undefined) {
      const bytes = Number(message.credit.bytes);
      const records = Number(message.credit.records);
      if (!(bytes > 0) && !(records > 0)) {
        // A grant of nothing would change nothing, silently: say so instead.
        this.finish(new RunnelError('INVALID_REQUEST', 'a `credit` message must grant something: set `bytes`, `records` or both above 0'));
        return;
      }
      this.credit.grant(bytes, records);
      this.signal();
      return;
    }
    this.finish(new RunnelError('INVALID_REQUEST', '`start` may only be the first Subscribe message; later messages must be `credit`'));
  }

  private async run(start: SubscribeStart__Output): Promise<void> {
    let leader: ReplicaDriver;
    try {
      leader = this.registry.lookup(start.topic, start.partition);
    } catch (err) {
      if (this.forwarder !== undefined && err instanceof RunnelError && err.code === 'NOT_LEADER' && err.leaderAddress !== undefined && forwardingAllowed(this.call.metadata)) {
        // The relay takes the call over: this session stops listening without ending it.
        this.ended = true;
        this.forwarder.subscribe(err.leaderAddress, this.call, { kind: 'start', start });
        return;
      }
      throw err;
    }
    this.leader = leader;
    if (start.credit !== null && start.credit !== undefined) this.credit.grant(Number(start.credit.bytes), Number(start.credit.records));
    const what = `${start.topic}/${start.partition}`;
    // An offset in the log but above the HW (a new leader's HW can start below what consumers
    // were shown) is waited for like any offset at the HW: the loop below sleeps until it commits.
    const bounds = { logStartOffset: leader.logStartOffset, highWatermark: leader.highWatermark, logEndOffset: leader.logEndOffset };
    const requested = start.position?.at === 'offset' ? Number(start.position.offset) : undefined;
    if (requested !== undefined && requested >= 0 && requested < bounds.logStartOffset) this.lossLog.report('subscribe', start.topic, start.partition, requested, bounds.logStartOffset);
    this.nextOffset = await resolveStartPosition(start.position, bounds, (ts) => leader.log.offsetForTimestamp(ts), what);
    if (this.ended) return;
    this.unlisten = leader.addListener(this);
    this.write({ batches: [], highWatermark: leader.highWatermark, startOffset: this.nextOffset });
    while (!this.ended) {
      const hw = leader.highWatermark;
      if (this.writeBlocked || !this.credit.canSend() || this.nextOffset >= hw) {
        await this.waitForSignal();
        continue;
      }
      if (this.nextOffset < leader.logStartOffset) {
        // The consumer was slower than retention: say so (error, log event, metric), never skip.
        this.lossLog.report('subscribe', start.topic, start.partition, this.nextOffset, leader.logStartOffset);
        throw offsetDeleted(this.nextOffset, { logStartOffset: leader.logStartOffset, highWatermark: hw, logEndOffset: leader.logEndOffset }, what);
      }
      const raw = await leader.read(this.nextOffset, this.credit.readBudget(SUBSCRIBE_READ_BYTES_MAX), hw);
      if (this.ended) return;
      const picked = selectDeliverable(raw, this.nextOffset, hw, (sizeBytes, recordCount) => {
        if (!this.credit.canSend()) return false;
        this.credit.consume(sizeBytes, recordCount);
        return true;
      });
      if (picked.nextOffset === this.nextOffset) {
        // Nothing readable below the HW at this offset yet (cannot normally happen): wait for news.
        await this.waitForSignal();
        continue;
      }
      this.nextOffset = picked.nextOffset;
      // Also when only control batches were passed over: the client learns it is caught up.
      this.write({ batches: picked.batches, highWatermark: leader.highWatermark, nextOffset: this.nextOffset });
    }
  }

  private write(response: RawBatchesResponse): void {
    if (this.ended) return;
    if (!this.call.write(response)) this.writeBlocked = true;
  }

  private waitForSignal(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Ends the call once: with `error` as its status, or (client gone) without writing anything. */
  private finish(error: RunnelError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.unlisten?.();
    this.unlisten = undefined;
    this.signal();
    if (error !== undefined && !this.call.cancelled) this.call.emit('error', toGrpcStatus(error));
  }
}

export function subscribeHandler(registry: PartitionRegistry, logger: Logger, forwarder?: Forwarder): grpc.handleBidiStreamingCall<SubscribeRequest__Output, RawBatchesResponse> {
  const lossLog = new RetentionLossLog(logger.child({ component: 'subscribe' }));
  return (call) => new SubscriptionSession(call, registry, logger, lossLog, forwarder).start();
}
