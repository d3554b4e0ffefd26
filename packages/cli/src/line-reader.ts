import { LINE_BYTES_MAX } from './constants.js';

/**
 * Splits a byte stream into lines (without the '\n', and without a trailing '\r'), pulling one
 * chunk at a time, so a slow consumer of the lines slows the reading down (bounded memory). A
 * last line without a newline is yielded too; an empty input yields nothing.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>, lineBytesMax: number = LINE_BYTES_MAX): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = bytes.subarray(start, nl);
      const line = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      yield stripCr(line);
      start = nl + 1;
    }
    if (start < bytes.length) {
      pending.push(bytes.subarray(start));
      pendingBytes += bytes.length - start;
      if (pendingBytes > lineBytesMax) throw new RangeError(`an input line is longer than ${lineBytesMax} bytes`);
    }
  }
  if (pendingBytes > 0) yield stripCr(Buffer.concat(pending));
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}
