import { RunnelError } from '@runnel/protocol';
import type { ErrorCode, Position__Output } from '@runnel/protocol';

/** The offsets of a led partition a requested offset or position is resolved against. */
export interface OffsetBounds {
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
}

/** The range of `timestamp_ms` in positions and ListOffsets: any non-negative int64. */
export const TIMESTAMP_MS_RANGE = '0 to 9223372036854775807';

/**
 * Throws OFFSET_OUT_OF_RANGE (stating the valid range) unless logStartOffset <= offset <= log end
 * offset. Offsets above the HW but within the log are in range: a new leader may start with a HW
 * below what consumers were already shown, and those offsets commit once it has a quorum.
 */
export function checkOffsetInLog(offset: number, bounds: OffsetBounds, what: string): void {
  if (Number.isSafeInteger(offset) && offset >= 0 && offset < bounds.logStartOffset) throw offsetDeleted(offset, bounds, what);
  if (!Number.isSafeInteger(offset) || offset < bounds.logStartOffset || offset > bounds.logEndOffset) {
    throw new RunnelError(
      'OFFSET_OUT_OF_RANGE',
      `${what}: offset ${offset} is out of range; valid offsets are ${bounds.logStartOffset} to ${bounds.logEndOffset} (log start offset to log end offset)`,
    );
  }
}

/**
 * OFFSET_OUT_OF_RANGE for an offset retention has deleted: names the offset, the log start and how
 * many offsets between them the consumer will never read, so the loss is never silent.
 */
export function offsetDeleted(offset: number, bounds: OffsetBounds, what: string): RunnelError {
  return new RunnelError(
    'OFFSET_OUT_OF_RANGE',
    `${what}: offset ${offset} was deleted by retention; the log now starts at ${bounds.logStartOffset} (${bounds.logStartOffset - offset} offsets were deleted unread); valid offsets are ${bounds.logStartOffset} to ${bounds.logEndOffset} (log start offset to log end offset)`,
  );
}

/** OFFSET_NOT_AVAILABLE (retriable) for an offset within the log but not committed yet. */
export function offsetNotAvailable(offset: number, bounds: OffsetBounds, what: string): RunnelError {
  return new RunnelError(
    'OFFSET_NOT_AVAILABLE',
    `${what}: offset ${offset} is in the log but not committed yet (high watermark ${bounds.highWatermark}, log end offset ${bounds.logEndOffset}), as just after a leader change; retry shortly or wait with max_wait_ms`,
  );
}

/**
 * A request's `timestamp_ms` (decoded as a Number, so values beyond 2^53 arrive rounded but still
 * ordered): any non-negative int64, else `code` naming the field and the range.
 */
export function checkTimestampMs(timestampMs: number | null | undefined, field: string, what: string, code: ErrorCode): number {
  const ts = timestampMs ?? Number.NaN;
  if (!Number.isFinite(ts) || ts < 0) {
    throw new RunnelError(code, `${what}: ${field} ${String(timestampMs)} is out of range; it must be ${TIMESTAMP_MS_RANGE} (ms since the Unix epoch)`);
  }
  return ts;
}

/**
 * The first offset whose batch's max timestamp is >= `timestampMs`, within [log start offset, HW];
 * the HW if no committed batch is that late.
 */
export async function offsetForTimestamp(
  timestampMs: number,
  bounds: OffsetBounds,
  lookup: (timestampMs: number) => Promise<number | undefined>,
): Promise<number> {
  // Record timestamps are safe integers (the produce path checks), so a larger one is past them all.
  const found = timestampMs > Number.MAX_SAFE_INTEGER ? undefined : await lookup(timestampMs);
  if (found === undefined) return bounds.highWatermark;
  return Math.min(Math.max(found, bounds.logStartOffset), bounds.highWatermark);
}

/**
 * Resolves a Subscribe start position to an offset: earliest -> log start offset, latest -> HW,
 * offset -> itself if within [log start offset, log end offset] (the subscription waits for the HW
 * to pass it), timestamp -> see offsetForTimestamp. Missing or malformed -> INVALID_POSITION.
 */
export async function resolveStartPosition(
  position: Position__Output | null | undefined,
  bounds: OffsetBounds,
  lookup: (timestampMs: number) => Promise<number | undefined>,
  what: string,
): Promise<number> {
  switch (position?.at) {
    case 'earliest':
      return bounds.logStartOffset;
    case 'latest':
      return bounds.highWatermark;
    case 'offset': {
      const offset = position.offset ?? Number.NaN;
      checkOffsetInLog(offset, bounds, what);
      return offset;
    }
    case 'timestampMs':
      return offsetForTimestamp(checkTimestampMs(position.timestampMs, 'timestamp_ms', what, 'INVALID_POSITION'), bounds, lookup);
    default:
      throw new RunnelError('INVALID_POSITION', `${what}: the start position is missing; set one of offset, earliest, latest or timestamp_ms`);
  }
}
