import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GRPC_CHANNEL_OPTIONS, runnelGrpc, dialAddress } from '@runnel/protocol';
import type { ReplicateFrame, ReplicateFrame__Output, ReplicationClient, ReplicationMessage } from '@runnel/protocol';
import { Backoff } from './backoff.js';
import { REPLICATION_BACKOFF_MS_MAX, REPLICATION_BACKOFF_MS_MIN } from './constants.js';
import { FrameWriter } from './replicate-stream.js';

export interface FollowerLinkOptions {
  readonly nodeId: number;
  readonly leaderId: number;
  /** host:port of the leader broker. */
  readonly address: string;
  readonly logger: Logger;
  /** This cluster's id, stamped on every frame. */
  readonly clusterId: () => string;
  /** Every frame the leader sends. */
  readonly onFrame: (from: number, frame: ReplicateFrame__Output) => void;
  /**
   * Asked before each reconnect: false (the leader is dead or moved in the metadata) closes the
   * link instead, so nobody keeps dialling an address another process may have taken since.
   */
  readonly stillWanted: () => boolean;
  /** The link closed itself (stillWanted() said no). */
  readonly onGaveUp: (link: FollowerLink) => void;
}

/**
 * This broker's one outgoing Replicate stream to one leader broker, multiplexing every partition
 * it follows there. Reconnects with bounded exponential backoff until closed or no longer wanted;
 * messages sent while no stream is up are dropped (the replicas' keepalive fetches resume the
 * conversation).
 */
export class FollowerLink {
  readonly address: string;
  readonly #o: FollowerLinkOptions;
  readonly #client: ReplicationClient;
  readonly #backoff = new Backoff(REPLICATION_BACKOFF_MS_MIN, REPLICATION_BACKOFF_MS_MAX);
  #call: grpc.ClientDuplexStream<ReplicateFrame, ReplicateFrame__Output> | undefined;
  #writer: FrameWriter | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: FollowerLinkOptions) {
    this.#o = options;
    this.address = options.address;
    const Replication = runnelGrpc().runnel.v1.Replication;
    this.#client = new Replication(dialAddress(options.address), grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
    this.#connect();
  }

  send(message: ReplicationMessage): void {
    this.#writer?.push(message);
  }

  #connect(): void {
    if (this.#closed) return;
    const call = this.#client.Replicate();
    const writer = new FrameWriter(call, this.#o.nodeId, this.#o.clusterId);
    this.#call = call;
    this.#writer = writer;
    let failed = false;
    const onFailure = (err: unknown): void => {
      if (failed) return;
      failed = true;
      writer.close();
      if (this.#call === call) {
        this.#call = undefined;
        this.#writer = undefined;
      }
      call.cancel();
      if (this.#closed) return;
      if (!this.#o.stillWanted()) {
        this.#o.logger.info({ leader: this.#o.leaderId, address: this.address }, 'replication stream to leader closed: the leader is gone from the metadata');
        this.close();
        this.#o.onGaveUp(this);
        return;
      }
      const delayMs = this.#backoff.nextDelayMs();
      const code = (err as { code?: number } | undefined)?.code;
      this.#o.logger.debug({ leader: this.#o.leaderId, address: this.address, code, delayMs }, 'replication stream to leader ended; reconnecting');
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#connect();
      }, delayMs);
    };
    call.on('data', (frame: ReplicateFrame__Output) => {
      this.#backoff.reset();
      this.#o.onFrame(this.#o.leaderId, frame);
    });
    call.on('error', onFailure);
    call.on('end', () => onFailure(undefined));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#writer?.close();
    this.#call?.cancel();
    this.#client.close();
  }
}
