import { RunnelError } from '@runnel/protocol';
import type { Position__Output } from '@runnel/protocol';

/** The offsets a start position is resolved against. */
export interface OffsetBounds {
  readonly logStartOffset: number;
  readonly highWatermark: number;
}

/** Throws OFFSET_OUT_OF_RANGE (stating the valid range) unless logStartOffset <= offset <= highWatermark. */
export function checkOffsetInRange(offset: number, bounds: OffsetBounds, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < bounds.logStartOffset || offset > bounds.highWatermark) {
    throw new RunnelError(
      'OFFSET_OUT_OF_RANGE',
      `${what}: offset ${offset} is out of range; valid offsets are ${bounds.logStartOffset} to ${bounds.highWatermark} (log start offset to high watermark)`,
    );
  }
}

/**
 * Resolves a Subscribe start position to an offset: earliest -> log start offset, latest -> HW,
 * offset -> itself if within [log start offset, HW], timestamp -> the first batch whose max
 * timestamp is >= it, capped at the HW (HW if none). Missing or malformed -> INVALID_POSITION.
 */
export async function resolveStartPosition(
  position: Position__Output | null | undefined,
  bounds: OffsetBounds,
  offsetForTimestamp: (timestampMs: number) => Promise<number | undefined>,
  what: string,
): Promise<number> {
  switch (position?.at) {
    case 'earliest':
      return bounds.logStartOffset;
    case 'latest':
      return bounds.highWatermark;
    case 'offset': {
      const offset = position.offset ?? Number.NaN;
      checkOffsetInRange(offset, bounds, what);
      return offset;
    }
    case 'timestampMs': {
      const ts = position.timestampMs ?? Number.NaN;
      if (!Number.isSafeInteger(ts) || ts < 0) throw new RunnelError('INVALID_POSITION', `${what}: timestamp_ms ${ts} must be a non-negative number of ms`);
      const found = await offsetForTimestamp(ts);
      if (found === undefined) return bounds.highWatermark;
      return Math.min(Math.max(found, bounds.logStartOffset), bounds.highWatermark);
    }
    default:
      throw new RunnelError('INVALID_POSITION', `${what}: the start position is missing; set one of offset, earliest, latest or timestamp_ms`);
  }
}
