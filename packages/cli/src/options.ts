import { InvalidArgumentError } from 'commander';
import { isFsyncPolicy } from '@runnel/testkit';
import type { FsyncPolicy, LogLevel } from '@runnel/testkit';
import { parsePosition } from './parse-position.js';
import type { StartPosition } from './parse-position.js';

/** Option-value parsers for commander: each throws InvalidArgumentError (exit 2) on a bad value. */

export type Acks = 'none' | 'leader' | 'quorum' | 'all';
const ACKS: readonly Acks[] = ['none', 'leader', 'quorum', 'all'];
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** An integer parser bounded to [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const trimmed = value.trim();
    if (!/^-?\d+$/.test(trimmed)) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    const n = Number(trimmed);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

export function parseAcks(value: string): Acks {
  const v = value.trim().toLowerCase();
  const found = ACKS.find((a) => a === v);
  if (found === undefined) throw new InvalidArgumentError(`expected one of ${ACKS.join(', ')}.`);
  return found;
}

export function parseFsync(value: string): FsyncPolicy {
  const v = value.trim();
  if (!isFsyncPolicy(v)) throw new InvalidArgumentError('expected always, never or interval:MS.');
  return v;
}

export function parseLogLevel(value: string): LogLevel {
  const v = value.trim().toLowerCase();
  const found = LOG_LEVELS.find((l) => l === v);
  if (found === undefined) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}.`);
  return found;
}

/** host:port with a port from 1 to 65535. */
export function parseAddress(value: string): string {
  const v = value.trim();
  const m = /^(.+):(\d{1,5})$/.exec(v);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65_535) throw new InvalidArgumentError('expected host:port.');
  return v;
}

export function parseFrom(value: string): StartPosition {
  try {
    return parsePosition(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}
