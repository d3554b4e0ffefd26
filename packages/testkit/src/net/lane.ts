import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { QUEUED_CHUNKS_MAX, SLOW_SLICE_BYTES_MAX, SLOW_SLICE_BYTES_MIN, SLOW_SLICES_PER_SECOND, SOCKET_READ_BYTES_MAX } from './constants.js';
import { laneEffect } from './link-fault.js';
import type { Direction, LinkFault } from './link-fault.js';

/** The most queue entries one socket read can become (a slowed read is cut into slices). */
const ENTRIES_PER_READ_MAX = Math.ceil(SOCKET_READ_BYTES_MAX / SLOW_SLICE_BYTES_MIN);

/** Byte counters of one direction, shared by every connection of a proxy. */
export interface LaneCounters {
  delivered: number;
  dropped: number;
}

export interface LaneOptions {
  readonly direction: Direction;
  readonly source: Socket;
  readonly sink: Socket;
  /** The proxy's current fault, read once per chunk. */
  readonly fault: () => LinkFault;
  /** Seeded, in [0, 1). */
  readonly random: () => number;
  readonly bufferBytesMax: number;
  readonly counters: LaneCounters;
}

interface Pending {
  readonly chunk: Buffer;
  /** performance.now() time at which it may be written to the sink. */
  readonly dueAtMs: number;
}

/**
 * One direction of a proxied connection: reads `source`, applies the fault, writes `sink`.
 *
 * Healthy traffic with nothing queued is written straight through. Delayed or slowed traffic waits
 * in a queue, each chunk with its due time; due times never decrease, so order is kept, and data
 * queued before a fault changes keeps its schedule. The queue holds at most `bufferBytesMax` bytes
 * and QUEUED_CHUNKS_MAX chunks: the source is paused once less than one socket read of room is left
 * (or while the sink is not draining) and resumed below half. One timer per lane, unref'd.
 */
export class Lane {
  readonly direction: Direction;
  private readonly options: LaneOptions;
  private queue: Pending[] = [];
  private queueHead = 0;
  private queued = 0;
  private queuedPeak = 0;
  private lastDueAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sinkBlocked = false;
  private sourcePaused = true;
  private sourceEnded = false;
  private finSent = false;
  private stopped = false;

  constructor(options: LaneOptions) {
    this.options = options;
    this.direction = options.direction;
  }

  /** Bytes queued now. */
  get bufferedBytes(): number {
    return this.queued;
  }

  /** Most bytes ever queued at once. */
  get bufferedBytesPeak(): number {
    return this.queuedPeak;
  }

  /** Starts reading the source (which must be paused until now). */
  start(): void {
    const { source, sink } = this.options;
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
    sink.on('drain', () => {
      this.sinkBlocked = false;
      this.pump();
    });
    this.sourcePaused = true;
    this.updateFlow();
  }

  /** Drops whatever is queued and stops the timer; the sockets are the connection's to destroy. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.queueHead = 0;
    this.queued = 0;
  }

  private get queueLength(): number {
    return this.queue.length - this.queueHead;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    const effect = laneEffect(this.options.fault(), this.direction);
    switch (effect.kind) {
      case 'discard':
        this.options.counters.dropped += chunk.length;
        return;
      case 'pass':
        if (this.queueLength === 0) {
          this.write(chunk);
          this.updateFlow();
          return;
        }
        this.push(chunk, Math.max(performance.now(), this.lastDueAtMs));
        break;
      case 'delay': {
        const jitterMs = effect.jitterMs > 0 ? this.options.random() * effect.jitterMs : 0;
        this.push(chunk, Math.max(performance.now() + effect.ms + jitterMs, this.lastDueAtMs));
        break;
      }
      case 'slow': {
        const sliceBytes = Math.max(SLOW_SLICE_BYTES_MIN, Math.min(SLOW_SLICE_BYTES_MAX, Math.floor(effect.bytesPerSecond / SLOW_SLICES_PER_SECOND)));
        let dueAtMs = Math.max(performance.now(), this.lastDueAtMs);
        for (let offset = 0; offset < chunk.length; offset += sliceBytes) {
          const slice = chunk.subarray(offset, offset + sliceBytes);
          dueAtMs += (slice.length * 1_000) / effect.bytesPerSecond;
          this.push(slice, dueAtMs);
        }
        break;
      }
    }
    this.pump();
  }

  private onEnd(): void {
    if (this.stopped) return;
    // A FIN travels like a byte: lost while this direction drops, queued behind delayed data.
    if (laneEffect(this.options.fault(), this.direction).kind === 'discard') return;
    this.sourceEnded = true;
    this.pump();
  }

  private push(chunk: Buffer, dueAtMs: number): void {
    this.queue.push({ chunk, dueAtMs });
    this.lastDueAtMs = dueAtMs;
    this.queued += chunk.length;
    if (this.queued > this.queuedPeak) this.queuedPeak = this.queued;
  }

  private shift(): Pending | undefined {
    const head = this.queue[this.queueHead];
    if (head === undefined) return undefined;
    this.queueHead++;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead >= 1_024 && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.queued -= head.chunk.length;
    return head;
  }

  private write(chunk: Buffer): void {
    const { sink, counters } = this.options;
    if (sink.destroyed || sink.writableEnded) return;
    counters.delivered += chunk.length;
    if (!sink.write(chunk)) this.sinkBlocked = true;
  }

  /** Writes every due chunk the sink will take, then arms the timer for the next one. */
  private pump(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = performance.now();
    while (!this.sinkBlocked) {
      const head = this.queue[this.queueHead];
      if (head === undefined) break;
      if (head.dueAtMs > now) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(head.dueAtMs - now));
        this.timer.unref();
        break;
      }
      this.shift();
      this.write(head.chunk);
    }
    if (this.sourceEnded && !this.finSent && this.queueLength === 0) {
      this.finSent = true;
      if (!this.options.sink.destroyed) this.options.sink.end();
    }
    this.updateFlow();
  }

  private updateFlow(): void {
    const { source, bufferBytesMax } = this.options;
    if (this.stopped || source.destroyed) return;
    const full = this.queued > bufferBytesMax - SOCKET_READ_BYTES_MAX || this.queueLength > QUEUED_CHUNKS_MAX - ENTRIES_PER_READ_MAX;
    if (!this.sourcePaused && (this.sinkBlocked || full)) {
      this.sourcePaused = true;
      source.pause();
    } else if (this.sourcePaused && !this.sinkBlocked && this.queued <= bufferBytesMax / 2 && this.queueLength <= QUEUED_CHUNKS_MAX / 2) {
      this.sourcePaused = false;
      source.resume();
    }
  }
}
