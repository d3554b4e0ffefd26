import { ERROR_MESSAGE_CHARS_MAX } from './limits.js';

/** Characters of a user-supplied string quoted in a message (valid names are at most 200). */
const QUOTED_CHARS_MAX = 100;

/** A status message travels percent-encoded in a trailer: keep it well under the 8 KiB clients accept. */
const ENCODED_CHARS_MAX = 4 * ERROR_MESSAGE_CHARS_MAX;

/** `text` cut to `max` UTF-16 units, never between the halves of a surrogate pair. */
function cut(text: string, max: number): string {
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/**
 * A user-supplied string (topic, group or member name) quoted for an error message: JSON-quoted,
 * and when long, cut with its full length said, so a hostile name cannot blow up a status.
 */
export function quoteUserText(text: string): string {
  if (text.length <= QUOTED_CHARS_MAX) return JSON.stringify(text);
  return `${JSON.stringify(cut(text, QUOTED_CHARS_MAX))}… (${text.length} characters)`;
}

/**
 * A status or error message cut to ERROR_MESSAGE_CHARS_MAX characters (and to what percent-encodes
 * within a trailer's budget) with an ellipsis: the one cap every Runnel error passes through.
 */
export function capText(message: string): string {
  // encodeURI (grpc-js's trailer encoding) throws on a lone surrogate.
  const text = message.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  let out = text.length <= ERROR_MESSAGE_CHARS_MAX ? text : `${cut(text, ERROR_MESSAGE_CHARS_MAX - 1)}…`;
  while (encodeURI(out).length > ENCODED_CHARS_MAX) out = `${cut(out, Math.floor(out.length / 2))}…`;
  return out;
}
