import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  RunnelError, fromErrorMessage, fromServiceError,
  type ProduceRequest, type ProduceResponse__Output, type ProduceStreamRequest, type ProduceStreamResponse__Output,
} from '@runnel/protocol';
import { ClientClosedError } from './client-errors.js';
import { callMetadata, type ConnectionPool } from './connection-pool.js';

export type ProduceCallback = (err: RunnelError | undefined, response: ProduceResponse__Output | undefined) => void;

interface Outstanding {
  readonly request: ProduceRequest;
  readonly callback: ProduceCallback;
  deadline: number;
}

export interface ProduceStreamLimits {
  /** Our own cap on requests outstanding on the stream. */
  readonly inFlightRequestsMax: number;
  /** How long a request may stay unanswered before it fails with TIMEOUT (retriable). */
  readonly answerTimeoutMs: number;
}

/**
 * One pipelined ProduceStream to one broker. Requests get increasing correlation ids; at most
 * min(inFlightRequestsMax, the broker's max_in_flight) are outstanding, the rest wait here in
 * order (bounded by the producer's buffer). Answers are matched by correlation id. A request
 * unanswered after answerTimeoutMs fails with TIMEOUT (its late answer is ignored). When the
 * stream breaks every outstanding and waiting request fails with the stream's error, and the
 * stream is dead: the owner opens a new one for later requests.
 */
export class ProduceStream {
  private readonly call: grpc.ClientDuplexStream<ProduceStreamRequest, ProduceStreamResponse__Output>;
  private readonly untrack: () => void;
  private readonly inFlight = new Map<number, Outstanding>();
  private readonly waiting: Array<Outstanding | undefined> = [];
  private waitingHead = 0;
  private nextCorrelationId = 1;
  private brokerMaxInFlight = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private deadError: RunnelError | undefined;

  constructor(
    pool: ConnectionPool,
    readonly address: string,
    private readonly limits: ProduceStreamLimits,
    private readonly log: Logger,
    private readonly onDead: (stream: ProduceStream) => void,
  ) {
    this.call = pool.broker(address).ProduceStream(callMetadata());
    this.untrack = pool.track(this.call);
    this.call.on('data', (msg: ProduceStreamResponse__Output) => this.onAnswer(msg));
    this.call.on('error', (err: unknown) => this.die(fromServiceError(err)));
    this.call.on('end', () => this.die(new RunnelError('UNREACHABLE', `produce stream to ${address} ended`, { retriable: true })));
  }

  get dead(): boolean {
    return this.deadError !== undefined;
  }

  get outstanding(): number {
    return this.inFlight.size + this.waiting.length - this.waitingHead;
  }

  send(request: ProduceRequest, callback: ProduceCallback): void {
    if (this.deadError !== undefined) {
      const err = this.deadError;
      queueMicrotask(() => callback(err, undefined));
      return;
    }
    this.waiting.push({ request, callback, deadline: 0 });
    this.pump();
  }

  private limit(): number {
    return Math.min(this.limits.inFlightRequestsMax, this.brokerMaxInFlight);
  }

  private pump(): void {
    while (this.deadError === undefined && this.waitingHead < this.waiting.length && this.inFlight.size < this.limit()) {
      const next = this.waiting[this.waitingHead];
      this.waiting[this.waitingHead] = undefined;
      this.waitingHead++;
      if (next === undefined) break;
      const correlationId = this.nextCorrelationId++;
      next.deadline = Date.now() + this.limits.answerTimeoutMs;
      this.inFlight.set(correlationId, next);
      this.call.write({ correlationId, request: next.request });
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer !== undefined || this.inFlight.size === 0) return;
    const first = this.inFlight.values().next().value;
    if (first === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
    }, Math.max(0, first.deadline - Date.now()));
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, o] of this.inFlight) {
      if (o.deadline > now) break;
      this.inFlight.delete(id);
      o.callback(new RunnelError('TIMEOUT', `no answer from ${this.address} within ${this.limits.answerTimeoutMs} ms; the write may still commit`, { retriable: true }), undefined);
    }
    this.pump();
  }

  private onAnswer(msg: ProduceStreamResponse__Output): void {
    if (msg.maxInFlight > 0) this.brokerMaxInFlight = msg.maxInFlight;
    const o = this.inFlight.get(msg.correlationId);
    if (o === undefined) {
      this.log.debug({ correlationId: msg.correlationId }, 'answer to an expired or unknown produce request');
    } else {
      this.inFlight.delete(msg.correlationId);
      if (msg.result === 'ok' && msg.ok) o.callback(undefined, msg.ok);
      else if (msg.error) o.callback(fromErrorMessage(msg.error), undefined);
      else o.callback(new RunnelError('INTERNAL', 'produce answer without a result'), undefined);
    }
    if (this.inFlight.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump();
  }

  private die(err: RunnelError): void {
    if (this.deadError !== undefined) return;
    this.deadError = err;
    this.untrack();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const failed = [...this.inFlight.values(), ...this.waiting.slice(this.waitingHead).filter((o): o is Outstanding => o !== undefined)];
    this.inFlight.clear();
    this.waiting.length = 0;
    this.waitingHead = 0;
    if (failed.length > 0) this.log.debug({ address: this.address, err: err.message, failed: failed.length }, 'produce stream broke');
    this.onDead(this);
    for (const o of failed) o.callback(err, undefined);
  }

  /** Ends the stream; anything still outstanding fails with ClientClosedError. */
  close(): void {
    if (this.deadError !== undefined) return;
    const idle = this.outstanding === 0;
    this.die(new ClientClosedError('producer'));
    if (idle) this.call.end();
    this.call.cancel();
  }
}
