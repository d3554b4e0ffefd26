import type { FsyncPolicy } from './contract.js';
import { fsyncIntervalMsMax } from './constants.js';
import { StorageError } from './storage-error.js';

const INTERVAL_PREFIX = 'interval:';

/** Parses `always`, `never` or `interval:<ms>` (1 <= ms <= fsyncIntervalMsMax). */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  if (text === 'always') return { kind: 'always' };
  if (text === 'never') return { kind: 'never' };
  if (text.startsWith(INTERVAL_PREFIX)) {
    const msText = text.slice(INTERVAL_PREFIX.length);
    const intervalMs = /^[0-9]+$/.test(msText) ? Number(msText) : Number.NaN;
    if (Number.isSafeInteger(intervalMs) && intervalMs >= 1 && intervalMs <= fsyncIntervalMsMax) {
      return { kind: 'interval', intervalMs };
    }
    throw new StorageError(
      'INVALID_REQUEST',
      `fsync policy "${text}": the interval must be a whole number of milliseconds from 1 to ${fsyncIntervalMsMax}`,
    );
  }
  throw new StorageError('INVALID_REQUEST', `fsync policy "${text}": expected "always", "never" or "interval:<ms>"`);
}

/** The inverse of parseFsyncPolicy. */
export function formatFsyncPolicy(policy: FsyncPolicy): string {
  switch (policy.kind) {
    case 'always':
      return 'always';
    case 'never':
      return 'never';
    case 'interval':
      return `${INTERVAL_PREFIX}${policy.intervalMs}`;
  }
}
