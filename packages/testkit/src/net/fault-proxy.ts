import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { BUFFER_BYTES_MAX_DEFAULT, BUFFER_BYTES_MAX_MIN, SEED_DEFAULT } from './constants.js';
import type { LaneCounters } from './lane.js';
import { validateLinkFault } from './link-fault.js';
import type { LinkFault } from './link-fault.js';
import { assertLoopbackHost, assertPort, formatAddress } from './loopback.js';
import { ProxiedConnection, resetSocket } from './proxied-connection.js';
import { seededRandom } from './seeded-random.js';

export interface FaultProxyOptions {
  /** Where connections are forwarded: 127.0.0.1, ::1 or localhost only. */
  readonly target: { readonly host: string; readonly port: number };
  /** Loopback host to listen on. Default 127.0.0.1. */
  readonly listenHost?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly listenPort?: number;
  /** Seed of the jitter PRNG (default 1): the same seed gives the same jitter sequence. */
  readonly seed?: number;
  /** Names the proxy in errors. */
  readonly name?: string;
  /** Bytes held per connection direction while delayed or slowed (default 8 MiB, at least 128 KiB). */
  readonly bufferBytesMax?: number;
}

export interface FaultProxyStats {
  /** Connections accepted since start, including those reset at once while cut. */
  readonly connections: number;
  /** Connections open now. */
  readonly open: number;
  /** Bytes delivered client -> target. */
  readonly bytesForward: number;
  /** Bytes delivered target -> client. */
  readonly bytesBackward: number;
  /** Bytes discarded client -> target by 'drop' (and by 'cut' while a connection was being reset). */
  readonly droppedForward: number;
  /** Bytes discarded target -> client. */
  readonly droppedBackward: number;
  /** Bytes delayed or slowed data held now, all connections. */
  readonly bufferedBytes: number;
  /** Most bytes one connection direction has held at once, since start. Never above bufferBytesMax. */
  readonly bufferedBytesPeak: number;
}

const HEALTHY: LinkFault = Object.freeze({ kind: 'none' });

/**
 * A TCP proxy on loopback that injects link faults between a client and a target (cut, one-way
 * drop, delay, bandwidth limit), for chaos tests with real processes. Point a node's peer address at
 * `proxy.address` instead of the peer's own and flip the fault with setFault()/heal().
 *
 * A fault applies at once to existing and new connections. Memory is bounded: delayed or slowed
 * data is queued up to bufferBytesMax per connection direction, and the sending socket is paused
 * beyond it (TCP backpressure). Timers are unref'd and cleared by close(). Socket errors, including
 * a target that is down, close the connection pair and never escape as 'error' events.
 */
export class FaultProxy {
  readonly port: number;
  /** host:port to connect to. */
  readonly address: string;
  readonly name: string;
  readonly seed: number;
  readonly bufferBytesMax: number;
  private readonly server: Server;
  private readonly target: { readonly host: string; readonly port: number };
  private readonly random: () => number;
  private readonly connections = new Set<ProxiedConnection>();
  /** Sockets torn down but not yet closed, so close() can wait for them (at most one per accept). */
  private readonly closingSockets = new Set<Promise<void>>();
  private readonly forward: LaneCounters = { delivered: 0, dropped: 0 };
  private readonly backward: LaneCounters = { delivered: 0, dropped: 0 };
  private accepted = 0;
  private peak = 0;
  private current: LinkFault = HEALTHY;
  private closing: Promise<void> | undefined;

  private constructor(server: Server, options: FaultProxyOptions, host: string, bufferBytesMax: number) {
    this.server = server;
    this.target = { host: options.target.host, port: options.target.port };
    this.port = (server.address() as AddressInfo).port;
    this.address = formatAddress(host, this.port);
    this.name = options.name ?? `fault-proxy ${this.address} -> ${formatAddress(this.target.host, this.target.port)}`;
    this.seed = options.seed ?? SEED_DEFAULT;
    this.random = seededRandom(this.seed);
    this.bufferBytesMax = bufferBytesMax;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    // After listen() succeeded, a server error (e.g. EMFILE on accept) is not the test's crash.
    server.on('error', () => undefined);
  }

  /** Listens on loopback; resolves once listening. Rejects on a non-loopback host or a busy port. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const host = options.listenHost ?? '127.0.0.1';
    assertLoopbackHost(host, 'listen');
    assertLoopbackHost(options.target.host, 'target');
    assertPort(options.listenPort ?? 0, 0, 'listen');
    assertPort(options.target.port, 1, 'target');
    const bufferBytesMax = options.bufferBytesMax ?? BUFFER_BYTES_MAX_DEFAULT;
    if (!Number.isInteger(bufferBytesMax) || bufferBytesMax < BUFFER_BYTES_MAX_MIN) {
      throw new RangeError(`fault proxy bufferBytesMax must be an integer >= ${BUFFER_BYTES_MAX_MIN}, got ${bufferBytesMax}`);
    }
    if (options.seed !== undefined && !Number.isInteger(options.seed)) throw new RangeError(`fault proxy seed must be an integer, got ${options.seed}`);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: options.listenPort ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, options, host, bufferBytesMax);
  }

  get fault(): LinkFault {
    return this.current;
  }

  /** Applies `fault` at once to every connection, existing and new. Throws a RangeError on a bad one. */
  setFault(fault: LinkFault): void {
    this.current = validateLinkFault(fault);
    if (this.current.kind === 'cut') {
      for (const connection of [...this.connections]) connection.close(true);
    }
  }

  /**
   * Back to healthy. Data already delayed or slowed is still delivered, in order and on its
   * schedule; bytes lost to 'drop' are gone; connections reset by 'cut' stay closed (new ones pass).
   */
  heal(): void {
    this.setFault(HEALTHY);
  }

  get stats(): FaultProxyStats {
    let buffered = 0;
    for (const connection of this.connections) {
      buffered += connection.bufferedBytes;
      this.peak = Math.max(this.peak, connection.bufferedBytesPeak);
    }
    return {
      connections: this.accepted,
      open: this.connections.size,
      bytesForward: this.forward.delivered,
      bytesBackward: this.backward.delivered,
      droppedForward: this.forward.dropped,
      droppedBackward: this.backward.dropped,
      bufferedBytes: buffered,
      bufferedBytesPeak: this.peak,
    };
  }

  /** Stops listening and destroys every connection; resolves once their sockets are closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.close(false);
    await Promise.all([listenerClosed, ...this.closingSockets]);
  }

  private track(closed: Promise<void>): void {
    this.closingSockets.add(closed);
    void closed.then(() => this.closingSockets.delete(closed));
  }

  private onConnection(client: Socket): void {
    this.accepted++;
    if (this.closing !== undefined || this.current.kind === 'cut') {
      this.track(new Promise<void>((resolve) => client.once('close', () => resolve())));
      client.on('error', () => undefined);
      if (this.closing !== undefined) client.destroy();
      else resetSocket(client);
      return;
    }
    const connection = new ProxiedConnection(client, {
      target: this.target,
      fault: () => this.current,
      random: this.random,
      bufferBytesMax: this.bufferBytesMax,
      forward: this.forward,
      backward: this.backward,
      onClose: (closed) => {
        this.peak = Math.max(this.peak, closed.bufferedBytesPeak);
        this.connections.delete(closed);
      },
    });
    this.connections.add(connection);
    this.track(connection.closed);
  }
}
