/** Where `runnel consume --from` starts. */
export type StartPosition = 'earliest' | 'latest' | { readonly offset: number } | { readonly timestampMs: number };

/** ISO-8601 date, optionally with a time and a zone: 2024-05-01, 2024-05-01T12:00:00Z, …+02:00. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parses a start position: `earliest`, `latest`, an offset (a non-negative integer) or an
 * ISO-8601 time. Throws a RangeError saying what is accepted.
 */
export function parsePosition(text: string): StartPosition {
  const value = text.trim();
  const lower = value.toLowerCase();
  if (lower === 'earliest' || lower === 'beginning') return 'earliest';
  if (lower === 'latest' || lower === 'end') return 'latest';
  if (/^\d+$/.test(value)) {
    const offset = Number(value);
    if (!Number.isSafeInteger(offset)) throw new RangeError(`"${text}" is not a position: the offset is larger than ${Number.MAX_SAFE_INTEGER}`);
    return { offset };
  }
  if (ISO_TIME.test(value)) {
    const timestampMs = Date.parse(value.replace(' ', 'T'));
    if (Number.isFinite(timestampMs) && timestampMs >= 0) return { timestampMs };
  }
  throw new RangeError(`"${text}" is not a position: expected earliest, latest, an offset (integer >= 0) or an ISO-8601 time such as 2024-05-01T12:00:00Z`);
}
