import type { ReplicateFrame, ReplicationMessage } from '@runnel/protocol';
import { REPLICATION_FRAME_MESSAGES_MAX, REPLICATION_QUEUE_BYTES_MAX, REPLICATION_QUEUE_MESSAGES_MAX } from './constants.js';
import { wireBytes } from './replication-codec.js';

/** The writable half of a Replicate stream (client or server side). */
export interface FrameSink {
  write(frame: ReplicateFrame): boolean;
  on(event: 'drain', listener: () => void): unknown;
}

/**
 * Outgoing side of one Replicate stream: messages queued during one turn of the event loop go out
 * together in frames of at most REPLICATION_FRAME_MESSAGES_MAX. Respects write() backpressure
 * (waits for 'drain'); the queue is bounded in messages and bytes, and what does not fit is
 * dropped — the replication protocol tolerates loss (fetches are re-sent, shipments retransmitted).
 */
export class FrameWriter {
  #queue: ReplicationMessage[] = [];
  #queuedBytes = 0;
  #blocked = false;
  #scheduled = false;
  #closed = false;
  dropped = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly senderId: number,
    /** This cluster's id, stamped on every frame (read at send time: it is known once metadata arrives). */
    private readonly clusterId: () => string,
  ) {
    sink.on('drain', () => {
      this.#blocked = false;
      this.#flush();
    });
  }

  push(message: ReplicationMessage): void {
    if (this.#closed) return;
    const bytes = wireBytes(message);
    if (this.#queue.length >= REPLICATION_QUEUE_MESSAGES_MAX || this.#queuedBytes + bytes > REPLICATION_QUEUE_BYTES_MAX) {
      this.dropped++;
      return;
    }
    this.#queue.push(message);
    this.#queuedBytes += bytes;
    if (this.#scheduled || this.#blocked) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  #flush(): void {
    while (!this.#closed && !this.#blocked && this.#queue.length > 0) {
      const messages = this.#queue.splice(0, REPLICATION_FRAME_MESSAGES_MAX);
      for (const m of messages) this.#queuedBytes -= wireBytes(m);
      try {
        if (!this.sink.write({ senderId: this.senderId, messages, clusterId: this.clusterId() })) this.#blocked = true;
      } catch {
        // The stream ended under us: its owner sees the error and replaces it.
        this.close();
      }
    }
  }
}
