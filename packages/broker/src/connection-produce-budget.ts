import { RunnelError } from '@runnel/protocol';
import type { ProduceRequest__Output } from '@runnel/protocol';
import { CONNECTION_PENDING_PRODUCE_BYTES_MAX, PRODUCE_RETRY_AFTER_MS } from './constants.js';

/** Bytes a produce request holds while it is outstanding: its records' keys, values and header values. */
export function produceRequestBytes(request: ProduceRequest__Output | null | undefined): number {
  let bytes = 0;
  for (const r of request?.records ?? []) {
    bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const v of Object.values(r.headers ?? {})) bytes += v.length;
  }
  return bytes;
}

/**
 * Produce bytes outstanding per client connection (gRPC peer), over unary Produce calls and
 * ProduceStreams alike, bounded by `bytesMax`: one client cannot make the broker hold more than that
 * however many partitions or calls it spreads its writes over. A peer's entry exists only while it
 * has bytes outstanding, so the map is bounded by the calls in progress.
 */
export class ConnectionProduceBudget {
  readonly #bytes = new Map<string, number>();

  constructor(readonly bytesMax: number = CONNECTION_PENDING_PRODUCE_BYTES_MAX) {}

  pendingBytes(peer: string): number {
    return this.#bytes.get(peer) ?? 0;
  }

  /**
   * Takes `sizeBytes` for `peer` and returns the release function (call it once, when the request
   * is answered); TOO_MANY_REQUESTS with a retry-after hint when they would not fit. A request always
   * fits while the peer has nothing outstanding.
   */
  take(peer: string, sizeBytes: number): () => void {
    const held = this.pendingBytes(peer);
    if (held > 0 && held + sizeBytes > this.bytesMax) {
      throw new RunnelError(
        'TOO_MANY_REQUESTS',
        `this connection has ${held} bytes of produce requests outstanding (the most is ${this.bytesMax}); nothing was written: retry after ${PRODUCE_RETRY_AFTER_MS} ms`,
        { retryAfterMs: PRODUCE_RETRY_AFTER_MS },
      );
    }
    this.#bytes.set(peer, held + sizeBytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.pendingBytes(peer) - sizeBytes;
      if (left > 0) this.#bytes.set(peer, left);
      else this.#bytes.delete(peer);
    };
  }
}
