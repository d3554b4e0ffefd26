import type * as grpc from '@grpc/grpc-js';
import { RunnelError } from '@runnel/protocol';
import type { ClusterMetadata } from '@runnel/protocol';
import { WATCHERS_MAX } from './constants.js';

/** The part of a grpc-js server stream a watcher uses (a ServerWritableStream fits). */
export interface WatchStream {
  /** A Buffer is a snapshot already encoded (see acceptEncodedSnapshots). */
  write(message: ClusterMetadata | Buffer): boolean;
  end(): void;
  on(event: 'drain' | 'cancelled' | 'close' | 'finish', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

interface Watcher {
  readonly stream: WatchStream;
  /** write() returned false: wait for 'drain' before writing again. */
  blocked: boolean;
  /** Newest snapshot not yet written (only while blocked). Replaced, never queued. */
  pending: ClusterMetadata | Buffer | undefined;
}

/**
 * The Coordinator service definition with WatchMetadata's encoder passing Buffers through, so a
 * snapshot published to every watcher is encoded once (a 10,000-partition snapshot takes ~30 ms to
 * encode: once per watcher, that would hold the event loop for as many times as there are brokers).
 */
export function acceptEncodedSnapshots<D extends grpc.ServiceDefinition>(definition: D): D {
  const watch = definition['WatchMetadata'];
  if (watch === undefined) return definition;
  const encode = watch.responseSerialize;
  const passThrough = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : encode(value));
  return { ...definition, WatchMetadata: { ...watch, responseSerialize: passThrough } };
}

/**
 * The WatchMetadata streams. Each gets the current snapshot at once, then the newest snapshot after
 * every change. A watcher whose stream is full (write() returned false) keeps only the newest
 * snapshot and gets it when the stream drains: memory per watcher is one snapshot, whatever the
 * rate of change.
 */
export class MetadataWatchers {
  private readonly watchers = new Set<Watcher>();
  /** Encodes a published snapshot once for every watcher (streams must accept Buffers); absent: each stream encodes it. */
  private readonly encode: ((snapshot: ClusterMetadata) => Buffer) | undefined;

  constructor(options: { readonly encode?: (snapshot: ClusterMetadata) => Buffer } = {}) {
    this.encode = options.encode;
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Starts a watcher with `snapshot`; TOO_MANY_REQUESTS beyond WATCHERS_MAX. */
  add(stream: WatchStream, snapshot: ClusterMetadata): void {
    if (this.watchers.size >= WATCHERS_MAX) {
      throw new RunnelError('TOO_MANY_REQUESTS', `the coordinator already serves ${WATCHERS_MAX} metadata watchers`);
    }
    const w: Watcher = { stream, blocked: false, pending: undefined };
    this.watchers.add(w);
    const remove = (): void => {
      this.watchers.delete(w);
    };
    stream.on('cancelled', remove);
    stream.on('close', remove);
    stream.on('finish', remove);
    stream.on('error', remove);
    stream.on('drain', () => {
      w.blocked = false;
      const next = w.pending;
      w.pending = undefined;
      if (next !== undefined && this.watchers.has(w)) this.send(w, next);
    });
    this.send(w, snapshot);
  }

  /** Sends `snapshot` to every watcher (or keeps it as the one pending snapshot of a blocked one). */
  publish(snapshot: ClusterMetadata): void {
    if (this.watchers.size === 0) return;
    const payload = this.encode?.(snapshot) ?? snapshot;
    for (const w of this.watchers) {
      if (w.blocked) w.pending = payload;
      else this.send(w, payload);
    }
  }

  /** Ends every watch stream (on shutdown). */
  closeAll(): void {
    const all = [...this.watchers];
    this.watchers.clear();
    for (const w of all) {
      try {
        w.stream.end();
      } catch {
        // already gone
      }
    }
  }

  private send(w: Watcher, snapshot: ClusterMetadata | Buffer): void {
    if (!w.stream.write(snapshot)) w.blocked = true;
  }
}
