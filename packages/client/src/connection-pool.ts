import * as grpc from '@grpc/grpc-js';
import { CLUSTER_ID_HEADER, GRPC_CHANNEL_OPTIONS, dialAddress, fromServiceError, runnelGrpc, type BrokerClient, type CoordinatorClient } from '@runnel/protocol';
import { ClientClosedError } from './client-errors.js';

/**
 * Metadata of every call this client makes: it follows partition leaders itself, so it asks brokers
 * to answer NOT_LEADER (with the leader's address) instead of forwarding to the leader.
 */
export function callMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('runnel-forward', 'false');
  return md;
}

interface Cancellable {
  cancel(): void;
}

/**
 * One gRPC channel per address, shared by the Broker and Coordinator stubs for that address and
 * reused by every producer and consumer of the client. Tracks open calls so close() cancels them.
 */
export class ConnectionPool {
  private readonly channels = new Map<string, grpc.Channel>();
  private readonly brokers = new Map<string, BrokerClient>();
  private readonly coordinators = new Map<string, CoordinatorClient>();
  private readonly calls = new Set<Cancellable>();
  private closed = false;
  /** The cluster of the metadata (set by MetadataCache); sent on every broker call. */
  clusterId = '';
  /** Adds CLUSTER_ID_HEADER, so a broker of another cluster refuses the call instead of serving it. */
  private readonly clusterHeader: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start: (metadata, listener, next) => {
      if (this.clusterId !== '') metadata.set(CLUSTER_ID_HEADER, this.clusterId);
      next(metadata, listener);
    },
  });

  /** `addressMap`: addresses to dial instead of the ones metadata names (else RUNNEL_DIAL_MAP). */
  constructor(private readonly addressMap: Readonly<Record<string, string>> = {}) {}

  private channel(address: string): grpc.Channel {
    if (this.closed) throw new ClientClosedError('client');
    let ch = this.channels.get(address);
    if (ch === undefined) {
      ch = new grpc.Channel(this.addressMap[address] ?? dialAddress(address), grpc.credentials.createInsecure(), { ...GRPC_CHANNEL_OPTIONS });
      this.channels.set(address, ch);
    }
    return ch;
  }

  broker(address: string): BrokerClient {
    let c = this.brokers.get(address);
    if (c === undefined) {
      const Ctor = runnelGrpc().runnel.v1.Broker;
      c = new Ctor(address, grpc.credentials.createInsecure(), { channelOverride: this.channel(address), interceptors: [this.clusterHeader] });
      this.brokers.set(address, c);
    }
    return c;
  }

  coordinator(address: string): CoordinatorClient {
    let c = this.coordinators.get(address);
    if (c === undefined) {
      const Ctor = runnelGrpc().runnel.v1.Coordinator;
      c = new Ctor(address, grpc.credentials.createInsecure(), { channelOverride: this.channel(address) });
      this.coordinators.set(address, c);
    }
    return c;
  }

  /**
   * A unary call with a deadline `timeoutMs` from now. Failures reject with a RunnelError
   * (fromServiceError); a call cancelled by close() rejects with ClientClosedError.
   */
  unary<Res>(
    invoke: (metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
    timeoutMs: number,
  ): Promise<Res> {
    if (this.closed) return Promise.reject(new ClientClosedError('client'));
    return new Promise<Res>((resolve, reject) => {
      let call: grpc.ClientUnaryCall | undefined;
      const done = (): void => {
        if (call !== undefined) this.calls.delete(call);
      };
      try {
        call = invoke(callMetadata(), { deadline: Date.now() + timeoutMs }, (err, value) => {
          done();
          if (this.closed) reject(new ClientClosedError('client'));
          else if (err) reject(fromServiceError(err));
          else if (value === undefined) reject(fromServiceError(new Error('empty response')));
          else resolve(value);
        });
        this.calls.add(call);
      } catch (err) {
        done();
        reject(fromServiceError(err));
      }
    });
  }

  /** Registers a streaming call so close() cancels it; returns a function that unregisters it. */
  track(call: Cancellable): () => void {
    if (this.closed) {
      call.cancel();
      return () => undefined;
    }
    this.calls.add(call);
    return () => {
      this.calls.delete(call);
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const call of [...this.calls]) call.cancel();
    this.calls.clear();
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    this.brokers.clear();
    this.coordinators.clear();
  }
}
