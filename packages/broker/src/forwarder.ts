import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  GRPC_CHANNEL_OPTIONS, RunnelError, decodeRawBatchesResponse, dialAddress, fromServiceError, runnelGrpc, toGrpcStatus,
} from '@runnel/protocol';
import type {
  BrokerClient, FetchRequest__Output, ProduceRequest__Output, ProduceResponse, ProduceResponse__Output, RawBatchesResponse, SubscribeRequest,
  SubscribeRequest__Output,
} from '@runnel/protocol';
import { FORWARD_DEADLINE_MS_DEFAULT, FORWARD_IN_FLIGHT_MAX } from './constants.js';

/** Request header: `false` asks the broker to answer NOT_LEADER instead of forwarding (smart clients). */
export const FORWARD_HEADER = 'runnel-forward';
/** Set by a forwarding broker: the receiver never forwards again (one hop at most). */
export const FORWARDED_HEADER = 'runnel-forwarded';

/** Whether a request with these headers may be forwarded. */
export function forwardingAllowed(metadata: grpc.Metadata): boolean {
  return String(metadata.get(FORWARD_HEADER)[0] ?? '').toLowerCase() !== 'false' && metadata.get(FORWARDED_HEADER).length === 0;
}

/** The caller's deadline as ms since the epoch, or undefined without one (grpc-js gives Infinity). */
function deadlineMs(call: { getDeadline(): grpc.Deadline }): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : Number(d);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** The deadline for a forwarded unary request: the caller's, else FORWARD_DEADLINE_MS_DEFAULT from now. */
function callDeadline(call: { getDeadline(): grpc.Deadline }): Date {
  return new Date(deadlineMs(call) ?? Date.now() + FORWARD_DEADLINE_MS_DEFAULT);
}

/**
 * Simple-client path: a request for a partition led elsewhere is forwarded (one hop, with the
 * caller's deadline) to the leader the metadata names, and its answer relayed as-is — errors
 * included, so a NOT_LEADER from the leader still reaches the caller with its hints. Bounded: at
 * most FORWARD_IN_FLIGHT_MAX forwarded requests and subscriptions at once (TOO_MANY_REQUESTS
 * beyond). A produce is forwarded only when this broker refused it before appending anything.
 */
export class Forwarder {
  private readonly clients = new Map<string, BrokerClient>();
  private inFlight = 0;
  private closed = false;

  constructor(private readonly logger: Logger) {}

  private client(address: string): BrokerClient {
    let c = this.clients.get(address);
    if (c === undefined) {
      c = new (runnelGrpc().runnel.v1.Broker)(dialAddress(address), grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
      this.clients.set(address, c);
    }
    return c;
  }

  private acquire(): () => void {
    if (this.closed) throw new RunnelError('SHUTTING_DOWN', 'the broker is shutting down');
    if (this.inFlight >= FORWARD_IN_FLIGHT_MAX) {
      throw new RunnelError('TOO_MANY_REQUESTS', `this broker is already forwarding ${FORWARD_IN_FLIGHT_MAX} requests; send to the partition leader directly or retry`);
    }
    this.inFlight++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.inFlight--;
      }
    };
  }

  private static metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set(FORWARDED_HEADER, '1');
    return md;
  }

  produce(address: string, request: ProduceRequest__Output, deadline: Date): Promise<ProduceResponse> {
    const release = this.acquire();
    return new Promise<ProduceResponse>((resolve, reject) => {
      this.client(address).Produce(request, Forwarder.metadata(), { deadline }, (err: grpc.ServiceError | null, res?: ProduceResponse__Output) => {
        release();
        if (err !== null || res === undefined) reject(fromServiceError(err ?? new Error('empty answer')));
        else resolve(res);
      });
    });
  }

  fetch(address: string, request: FetchRequest__Output, deadline: Date): Promise<RawBatchesResponse> {
    const release = this.acquire();
    const serialize = runnelGrpc().runnel.v1.Broker.service.Fetch.requestSerialize;
    return new Promise<RawBatchesResponse>((resolve, reject) => {
      (this.client(address) as unknown as grpc.Client).makeUnaryRequest<FetchRequest__Output, RawBatchesResponse>(
        '/runnel.v1.Broker/Fetch', serialize as (r: FetchRequest__Output) => Buffer, (b: Buffer) => decodeRawBatchesResponse('FetchResponse', b),
        request, Forwarder.metadata(), { deadline },
        (err: grpc.ServiceError | null, res?: RawBatchesResponse) => {
          release();
          if (err !== null || res === undefined) reject(fromServiceError(err ?? new Error('empty answer')));
          else resolve(res);
        },
      );
    });
  }

  /**
   * Relays a whole Subscribe call to the leader: the first message (already read) and every later
   * credit go up, answers come back untouched; flow control follows the caller (the relay pauses
   * the leader's stream while the caller is not reading). Either side ending ends the other.
   */
  subscribe(address: string, call: grpc.ServerDuplexStream<SubscribeRequest__Output, RawBatchesResponse>, first: SubscribeRequest__Output): void {
    const release = this.acquire();
    const serialize = runnelGrpc().runnel.v1.Broker.service.Subscribe.requestSerialize as (r: SubscribeRequest) => Buffer;
    const deadline = deadlineMs(call);
    const upstream = (this.client(address) as unknown as grpc.Client).makeBidiStreamRequest<SubscribeRequest, RawBatchesResponse>(
      '/runnel.v1.Broker/Subscribe', serialize, (b: Buffer) => decodeRawBatchesResponse('SubscribeResponse', b), Forwarder.metadata(),
      // A subscription lives as long as its caller: only a deadline the caller set applies.
      deadline === undefined ? {} : { deadline },
    );
    let done = false;
    const finish = (error?: RunnelError): void => {
      if (done) return;
      done = true;
      release();
      if (error === undefined) {
        upstream.cancel();
        return;
      }
      if (!call.cancelled) call.emit('error', toGrpcStatus(error));
    };
    upstream.on('data', (msg: RawBatchesResponse) => {
      if (!call.write(msg)) upstream.pause();
    });
    call.on('drain', () => upstream.resume());
    upstream.on('error', (err: unknown) => finish(fromServiceError(err)));
    upstream.on('end', () => {
      if (!done) {
        done = true;
        release();
        call.end();
      }
    });
    call.on('data', (m: SubscribeRequest__Output) => {
      if (!done) upstream.write(m as SubscribeRequest);
    });
    call.on('cancelled', () => finish());
    call.on('error', () => finish());
    upstream.write(first as SubscribeRequest);
    this.logger.debug({ address, topic: first.start?.topic, partition: first.start?.partition }, 'subscription forwarded to the leader');
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

export { callDeadline };
