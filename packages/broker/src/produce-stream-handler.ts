import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, toErrorMessage } from '@runnel/protocol';
import type { ProduceResponse, ProduceStreamRequest__Output, ProduceStreamResponse } from '@runnel/protocol';
import { PRODUCE_STREAM_IN_FLIGHT_MAX, PRODUCE_STREAM_PENDING_BYTES_MAX } from './constants.js';
import { produceRequestBytes, type ConnectionProduceBudget } from './connection-produce-budget.js';
import type { Forwarder } from './forwarder.js';
import { produceOrForward, reportError } from './produce-handler.js';
import type { ProduceService } from './produce-handler.js';

type Call = grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>;

/**
 * One ProduceStream call. Each request is started as it is read (so offsets follow the stream's
 * order) and answered, tagged with its correlation id, when its ack level is reached; errors are
 * answered in-band and the stream stays up. At most `inFlightMax` requests and `pendingBytesMax`
 * bytes (plus the one request that crossed it) are outstanding: at either limit, or while the client
 * is not reading answers (write() returned false), the stream is paused, so gRPC flow control pushes
 * back on the client. Nothing is queued beyond that. The stream's bytes also count toward its
 * connection's budget (`connections`, the ProduceService's): a request beyond that is answered
 * in-band with TOO_MANY_REQUESTS (retriable, nothing written).
 */
export class ProduceStreamSession {
  private inFlight = 0;
  private pendingBytes = 0;
  private readonly outstanding = new Set<number>();
  private paused = false;
  private writeBlocked = false;
  private inputEnded = false;
  private closed = false;

  constructor(
    private readonly call: Call,
    private readonly service: ProduceService,
    private readonly logger: Logger,
    private readonly inFlightMax: number = PRODUCE_STREAM_IN_FLIGHT_MAX,
    private readonly forwarder?: Forwarder,
    private readonly pendingBytesMax: number = PRODUCE_STREAM_PENDING_BYTES_MAX,
    private readonly connections?: ConnectionProduceBudget,
  ) {}

  start(): void {
    this.call.on('data', (message: ProduceStreamRequest__Output) => this.onRequest(message));
    this.call.on('end', () => {
      this.inputEnded = true;
      this.maybeFinish();
    });
    this.call.on('cancelled', () => this.close());
    this.call.on('error', () => this.close());
    this.call.on('drain', () => {
      this.writeBlocked = false;
      this.maybeResume();
    });
  }

  private onRequest(message: ProduceStreamRequest__Output): void {
    if (this.closed) return;
    const id = Number(message.correlationId ?? 0);
    if (!Number.isSafeInteger(id)) {
      // Decoded as a JS number (LOADER_OPTIONS): beyond 2^53 - 1 two ids could collide, so none is accepted.
      this.write({
        correlationId: id,
        error: toErrorMessage(new RunnelError('INVALID_REQUEST', `correlation id ${message.correlationId} is above ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest this broker accepts; nothing was written`)),
      });
      return;
    }
    if (this.outstanding.has(id)) {
      this.write({
        correlationId: id,
        error: toErrorMessage(new RunnelError('INVALID_REQUEST', `correlation id ${id} is already outstanding on this stream; ids must be unique among outstanding requests (nothing was written for this one; the first is answered as usual)`)),
      });
      return;
    }
    const bytes = produceRequestBytes(message.request);
    let release: () => void = () => undefined;
    try {
      if (this.connections !== undefined) release = this.connections.take(this.call.getPeer(), bytes);
    } catch (err) {
      this.write({ correlationId: id, error: toErrorMessage(reportError(this.logger, err, 'produce')) });
      return;
    }
    this.outstanding.add(id);
    this.inFlight++;
    this.pendingBytes += bytes;
    if (this.inFlight >= this.inFlightMax || this.pendingBytes >= this.pendingBytesMax) this.pause();
    produceOrForward(this.service, this.forwarder, message.request, this.call).then(
      (ok) => this.answer(id, bytes, release, ok, undefined),
      (err: unknown) => this.answer(id, bytes, release, undefined, reportError(this.logger, err, 'produce')),
    );
  }

  private answer(id: number, bytes: number, release: () => void, ok: ProduceResponse | undefined, error: RunnelError | undefined): void {
    release();
    this.pendingBytes -= bytes;
    this.inFlight--;
    this.outstanding.delete(id);
    if (this.closed) return;
    this.write(ok !== undefined ? { correlationId: id, ok } : { correlationId: id, error: toErrorMessage(error ?? new RunnelError('INTERNAL', 'no result')) });
    this.maybeResume();
    this.maybeFinish();
  }

  private write(response: Omit<ProduceStreamResponse, 'maxInFlight'>): void {
    if (this.closed) return;
    const more = this.call.write({ ...response, maxInFlight: this.inFlightMax });
    if (!more) {
      this.writeBlocked = true;
      this.pause();
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.call.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.closed || this.writeBlocked || this.inFlight >= this.inFlightMax || this.pendingBytes >= this.pendingBytesMax) return;
    this.paused = false;
    this.call.resume();
  }

  private maybeFinish(): void {
    if (!this.inputEnded || this.inFlight > 0 || this.closed) return;
    this.closed = true;
    this.call.end();
  }

  private close(): void {
    this.closed = true;
  }
}

export function produceStreamHandler(service: ProduceService, logger: Logger, forwarder?: Forwarder): grpc.handleBidiStreamingCall<ProduceStreamRequest__Output, ProduceStreamResponse> {
  return (call) => new ProduceStreamSession(call, service, logger, PRODUCE_STREAM_IN_FLIGHT_MAX, forwarder, PRODUCE_STREAM_PENDING_BYTES_MAX, service.connections).start();
}
