import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { TARGET_CONNECT_TIMEOUT_MS } from './constants.js';
import { Lane } from './lane.js';
import type { LaneCounters } from './lane.js';
import type { LinkFault } from './link-fault.js';

export interface ProxiedConnectionOptions {
  readonly target: { readonly host: string; readonly port: number };
  readonly fault: () => LinkFault;
  readonly random: () => number;
  readonly bufferBytesMax: number;
  readonly forward: LaneCounters;
  readonly backward: LaneCounters;
  /** Called once, when the pair is torn down. */
  readonly onClose: (connection: ProxiedConnection) => void;
}

/** Destroys a socket with a TCP RST when it has a connected handle, plainly otherwise. */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.readyState === 'closed') socket.destroy();
  else socket.resetAndDestroy();
}

/**
 * One accepted client socket and its connection to the target, with a lane each way. The client
 * stays paused until the target has accepted. An error on either socket tears down both (an error
 * is an operating event here, never rethrown); a target that refuses closes the client. Half-closes
 * are forwarded: a FIN travels through its lane like data.
 */
export class ProxiedConnection {
  private readonly client: Socket;
  private readonly target: Socket;
  private readonly lanes: Lane[] = [];
  private readonly options: ProxiedConnectionOptions;
  private torn = false;
  /** Resolves once both sockets have emitted 'close'. */
  readonly closed: Promise<void>;

  constructor(client: Socket, options: ProxiedConnectionOptions) {
    this.client = client;
    this.options = options;
    this.target = connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true });
    this.closed = Promise.all([socketClosed(client), socketClosed(this.target)]).then(() => undefined);
    for (const socket of [client, this.target]) {
      socket.on('error', () => this.close(false));
      // A clean close of one side (FIN both ways) leaves the other to its lane, which ends it once
      // what it still holds (delayed data, then the FIN) is delivered.
      socket.on('close', (hadError: boolean) => {
        if (hadError || (this.client.closed && this.target.closed)) this.close(false);
      });
    }
    this.target.setTimeout(TARGET_CONNECT_TIMEOUT_MS, () => this.close(false));
    this.target.once('connect', () => this.onTargetConnected());
  }

  /** Bytes the two lanes hold now. */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const lane of this.lanes) bytes += lane.bufferedBytes;
    return bytes;
  }

  /** Most bytes either lane ever held at once. */
  get bufferedBytesPeak(): number {
    let bytes = 0;
    for (const lane of this.lanes) bytes = Math.max(bytes, lane.bufferedBytesPeak);
    return bytes;
  }

  /** Tears the pair down, with an RST on both sides when `reset`. Idempotent. */
  close(reset: boolean): void {
    if (this.torn) return;
    this.torn = true;
    for (const lane of this.lanes) lane.stop();
    for (const socket of [this.client, this.target]) {
      if (reset) resetSocket(socket);
      else socket.destroy();
    }
    this.options.onClose(this);
  }

  private onTargetConnected(): void {
    if (this.torn) return;
    this.target.setTimeout(0);
    const { fault, random, bufferBytesMax } = this.options;
    this.lanes.push(
      new Lane({ direction: 'forward', source: this.client, sink: this.target, fault, random, bufferBytesMax, counters: this.options.forward }),
      new Lane({ direction: 'backward', source: this.target, sink: this.client, fault, random, bufferBytesMax, counters: this.options.backward }),
    );
    this.target.pause();
    for (const lane of this.lanes) lane.start();
  }
}

function socketClosed(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}
