import { FAULT_BYTES_PER_SECOND_MIN, FAULT_DELAY_MS_MAX } from './constants.js';

/** One direction of a proxied connection: forward is client -> target, backward is target -> client. */
export type Direction = 'forward' | 'backward';

/**
 * What a fault proxy does to the traffic of every connection, existing and new.
 *
 * - `none`: healthy passthrough.
 * - `cut`: a partitioned link. Existing connections are reset (RST on both sides); new connections
 *   are accepted, then reset at once.
 * - `drop`: one-way loss. Bytes (and a FIN) in `direction` are silently discarded while the TCP
 *   connections stay up. Discarded bytes are gone for good: healing resumes forwarding of new bytes
 *   only, so a framed protocol such as HTTP/2 may find its stream corrupt and close the connection
 *   (realistic: that is what a peer sees after a middlebox loses data). Seen with grpc-js 1.14:
 *   calls during the drop hit their deadline; after healing a forward drop the first call failed
 *   with INTERNAL ("RST_STREAM with code 2") and the channel reconnected; after a backward drop
 *   the connection happened to carry on.
 * - `delay`: every chunk, both directions, is delivered `ms` (plus a seeded random jitter in
 *   [0, jitterMs)) after it arrived; order is preserved per direction.
 * - `slow`: a bandwidth limit per direction; each byte is delivered once the bytes before it, at
 *   `bytesPerSecond`, have been; order is preserved.
 */
export type LinkFault =
  | { readonly kind: 'none' }
  | { readonly kind: 'cut' }
  | { readonly kind: 'drop'; readonly direction: Direction }
  | { readonly kind: 'delay'; readonly ms: number; readonly jitterMs?: number }
  | { readonly kind: 'slow'; readonly bytesPerSecond: number };

/** What a fault means for one direction of a connection. */
export type LaneEffect =
  | { readonly kind: 'pass' }
  | { readonly kind: 'discard' }
  | { readonly kind: 'delay'; readonly ms: number; readonly jitterMs: number }
  | { readonly kind: 'slow'; readonly bytesPerSecond: number };

const PASS: LaneEffect = { kind: 'pass' };
const DISCARD: LaneEffect = { kind: 'discard' };

/** The effect of `fault` on the `direction` lane ('cut' discards: its connections are being reset). */
export function laneEffect(fault: LinkFault, direction: Direction): LaneEffect {
  switch (fault.kind) {
    case 'none': return PASS;
    case 'cut': return DISCARD;
    case 'drop': return fault.direction === direction ? DISCARD : PASS;
    case 'delay': return { kind: 'delay', ms: fault.ms, jitterMs: fault.jitterMs ?? 0 };
    case 'slow': return { kind: 'slow', bytesPerSecond: fault.bytesPerSecond };
  }
}

function assertMs(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0 || value > FAULT_DELAY_MS_MAX) {
    throw new RangeError(`${what} must be a number in 0..${FAULT_DELAY_MS_MAX}, got ${value}`);
  }
}

/** Returns a frozen copy of `fault`, or throws a RangeError naming what is wrong with it. */
export function validateLinkFault(fault: LinkFault): LinkFault {
  switch (fault.kind) {
    case 'none':
    case 'cut':
      return Object.freeze({ kind: fault.kind });
    case 'drop':
      if (fault.direction !== 'forward' && fault.direction !== 'backward') {
        throw new RangeError(`drop direction must be 'forward' or 'backward', got ${String(fault.direction)}`);
      }
      return Object.freeze({ kind: 'drop', direction: fault.direction });
    case 'delay':
      assertMs(fault.ms, 'delay ms');
      if (fault.jitterMs !== undefined) assertMs(fault.jitterMs, 'delay jitterMs');
      return Object.freeze(fault.jitterMs === undefined ? { kind: 'delay', ms: fault.ms } : { kind: 'delay', ms: fault.ms, jitterMs: fault.jitterMs });
    case 'slow':
      if (!Number.isFinite(fault.bytesPerSecond) || fault.bytesPerSecond < FAULT_BYTES_PER_SECOND_MIN) {
        throw new RangeError(`slow bytesPerSecond must be a finite number >= ${FAULT_BYTES_PER_SECOND_MIN}, got ${fault.bytesPerSecond}`);
      }
      return Object.freeze({ kind: 'slow', bytesPerSecond: fault.bytesPerSecond });
    default:
      throw new RangeError(`unknown link fault kind: ${String((fault as { kind: unknown }).kind)}`);
  }
}
