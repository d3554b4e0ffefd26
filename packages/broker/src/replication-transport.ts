import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus, type RunnelError } from '@runnel/protocol';
import type { ReplicateFrame, ReplicateFrame__Output } from '@runnel/protocol';
import type { ReplicaOutput } from '@runnel/replication';
import { wrongCluster } from './cluster-guard.js';
import { FollowerLink } from './follower-link.js';
import type { MetadataView } from './metadata-view.js';
import { fromWire, toWire } from './replication-codec.js';
import type { AddressedInput } from './replication-codec.js';
import { FrameWriter } from './replicate-stream.js';

/** Test hook: peers this broker cannot exchange replication messages with (both directions). */
export interface ReplicationFaults {
  isCut(peerId: number): boolean;
}

export interface ReplicationTransportOptions {
  readonly nodeId: number;
  readonly metadata: MetadataView;
  readonly logger: Logger;
  /** A message from broker `from` for a partition replica. */
  readonly deliver: (from: number, input: AddressedInput) => void;
  readonly faults?: ReplicationFaults;
}

type ServerCall = grpc.ServerDuplexStream<ReplicateFrame__Output, ReplicateFrame>;

/**
 * Carries replica messages between brokers over Replicate streams.
 *  - Follower side: one outgoing stream per leader broker ({@link FollowerLink}), opened on the
 *    first message to it, its address from the metadata (re-dialled when it changes).
 *  - Leader side: every incoming stream, known by the sender_id of its frames (the stream that
 *    last carried a sender's frame is the one answers to it go back on).
 * A FetchRequest goes out on the stream to the leader; everything else (FetchResponse,
 * Diverging, BelowLogStart, Fenced) goes back on the peer's incoming stream if there is one, else on the stream
 * to it. Incoming messages from either kind of stream are dispatched by (topic_id, partition), so
 * a message arrives wherever it travelled. Nothing is sent to a peer with no stream: loss is part
 * of the protocol.
 *
 * Every frame carries the cluster id. Frames of another cluster (an address this broker dials, or
 * that dials it, now belongs to another cluster's process) are dropped, and such an incoming
 * stream is ended with WRONG_CLUSTER: a foreign "broker 2" must never take the place of ours.
 * Until this broker knows its cluster id (no metadata yet) it drops every frame.
 */
export class ReplicationTransport {
  readonly #o: ReplicationTransportOptions;
  readonly #links = new Map<number, FollowerLink>();
  readonly #incoming = new Map<number, { call: ServerCall; writer: FrameWriter }>();
  #closed = false;

  constructor(options: ReplicationTransportOptions) {
    this.#o = options;
  }

  send(to: number, topicId: string, partition: number, msg: ReplicaOutput): void {
    if (this.#closed || to === this.#o.nodeId || to < 0 || this.#o.faults?.isCut(to) === true) return;
    const wire = toWire(topicId, partition, msg);
    if (wire === undefined) return;
    if (msg.type !== 'FetchRequest') {
      const incoming = this.#incoming.get(to);
      if (incoming !== undefined) {
        incoming.writer.push(wire);
        return;
      }
      this.#links.get(to)?.send(wire);
      return;
    }
    this.#linkTo(to)?.send(wire);
  }

  #clusterId(): string {
    return this.#o.metadata.snapshot.clusterId;
  }

  /** undefined to take a frame; 'unknown' while this broker has no cluster id yet; else the WRONG_CLUSTER error. */
  #refusal(frame: ReplicateFrame__Output): RunnelError | 'unknown' | undefined {
    const ours = this.#clusterId();
    return ours === '' ? 'unknown' : wrongCluster('replication frame', frame.clusterId, ours);
  }

  #linkTo(leaderId: number): FollowerLink | undefined {
    const address = this.#o.metadata.broker(leaderId)?.address;
    const existing = this.#links.get(leaderId);
    if (existing !== undefined && existing.address === address) return existing;
    existing?.close();
    this.#links.delete(leaderId);
    if (address === undefined || address === '') return undefined;
    const link = new FollowerLink({
      nodeId: this.#o.nodeId, leaderId, address, logger: this.#o.logger,
      clusterId: () => this.#clusterId(),
      onFrame: (from, frame) => {
        const refused = this.#refusal(frame);
        if (refused === undefined) this.#onFrame(from, frame);
        else this.#o.logger.debug({ leader: leaderId, address, reason: refused === 'unknown' ? 'no cluster id yet' : refused.message }, 'dropped a replication frame from the leader');
      },
      stillWanted: () => {
        const b = this.#o.metadata.broker(leaderId);
        return !this.#closed && b !== undefined && b.alive && b.address === address;
      },
      onGaveUp: (gone) => {
        if (this.#links.get(leaderId) === gone) this.#links.delete(leaderId);
      },
    });
    this.#links.set(leaderId, link);
    this.#o.logger.info({ leader: leaderId, address }, 'replication stream to leader opened');
    return link;
  }

  /** Serves one incoming Replicate call (a follower broker's stream to us). */
  attach(call: ServerCall): void {
    if (this.#closed) {
      call.end();
      return;
    }
    let sender: number | undefined;
    let rejected = false;
    const writer = new FrameWriter(call, this.#o.nodeId, () => this.#clusterId());
    const detach = (): void => {
      writer.close();
      if (sender !== undefined && this.#incoming.get(sender)?.call === call) this.#incoming.delete(sender);
    };
    call.on('data', (frame: ReplicateFrame__Output) => {
      if (rejected) return;
      const refused = this.#refusal(frame);
      if (refused === 'unknown') return; // cannot tell yet; the sender's fetches are re-sent
      if (refused !== undefined) {
        rejected = true;
        this.#o.logger.warn({ sender: frame.senderId, peer: call.getPeer(), reason: refused.message }, 'refused a replication stream from another cluster');
        detach();
        call.emit('error', toGrpcStatus(refused));
        return;
      }
      if (sender !== frame.senderId) {
        if (sender !== undefined && this.#incoming.get(sender)?.call === call) this.#incoming.delete(sender);
        sender = frame.senderId;
      }
      // The stream a sender used last is the one to answer on (its previous stream may be closing).
      if (this.#incoming.get(sender)?.call !== call) this.#incoming.set(sender, { call, writer });
      this.#onFrame(frame.senderId, frame);
    });
    call.on('end', () => {
      detach();
      call.end();
    });
    call.on('error', detach);
    call.on('cancelled', detach);
  }

  #onFrame(from: number, frame: ReplicateFrame__Output): void {
    if (this.#closed || this.#o.faults?.isCut(from) === true) return;
    for (const m of frame.messages) {
      const input = fromWire(m);
      if (input === undefined) {
        this.#o.logger.debug({ from }, 'dropped a malformed replication message');
        continue;
      }
      this.#o.deliver(from, input);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    for (const { call, writer } of this.#incoming.values()) {
      writer.close();
      call.end();
    }
    this.#incoming.clear();
  }
}
