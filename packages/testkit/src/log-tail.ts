import { open } from 'node:fs/promises';
import { LOG_TAIL_BYTES_MAX } from './constants.js';

/** The last `bytesMax` bytes of a file as text ('' if it cannot be read). */
export async function readLogTail(path: string, bytesMax: number = LOG_TAIL_BYTES_MAX): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, bytesMax);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // Drop a partial first line when the tail starts mid-file.
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}
