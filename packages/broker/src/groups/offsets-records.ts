import { RunnelError, partitionForKey } from '@runnel/protocol';

/**
 * The records of the internal `__offsets` topic. Keys and values are JSON (small, rare, and
 * readable with `runnel consume --topic __offsets`):
 *   key ["o", group, topic, partition] -> {"offset", "metadata", "commitTimeMs"}   a committed offset
 *   key ["g", group]                   -> {"sessionTimeoutMs"}                     the group exists
 *   key ["m"]                          -> {"brokerId", "epoch"}                    load marker
 * Later records win. A new group coordinator appends a load marker with QUORUM acks and replays
 * everything before it: once the marker is committed, so is everything before it.
 */

export const OFFSETS_TOPIC = '__offsets';

const GROUP_NAME = /^[A-Za-z0-9._-]{1,200}$/;

export function assertValidGroupName(group: unknown): asserts group is string {
  if (typeof group !== 'string' || group === '') throw new RunnelError('INVALID_GROUP_NAME', 'the request names no group; set `group`');
  if (!GROUP_NAME.test(group)) {
    throw new RunnelError('INVALID_GROUP_NAME', `group name ${JSON.stringify(group.slice(0, 220))} must be 1-200 characters of A-Z a-z 0-9 . _ -`);
  }
}

/** The `__offsets` partition holding a group's records (same hash as record keys). */
export function offsetsPartitionFor(group: string, partitions: number): number {
  return partitionForKey(Buffer.from(group, 'utf8'), partitions);
}

export interface CommittedValue {
  readonly offset: number;
  readonly metadata: string;
  readonly commitTimeMs: number;
}

export type OffsetsRecord =
  | { readonly kind: 'offset'; readonly group: string; readonly topic: string; readonly partition: number; readonly value: CommittedValue }
  | { readonly kind: 'group'; readonly group: string; readonly sessionTimeoutMs: number }
  | { readonly kind: 'marker' };

export function encodeOffsetsRecord(r: OffsetsRecord): { key: Buffer; value: Buffer } {
  switch (r.kind) {
    case 'offset':
      return {
        key: Buffer.from(JSON.stringify(['o', r.group, r.topic, r.partition])),
        value: Buffer.from(JSON.stringify(r.value)),
      };
    case 'group':
      return { key: Buffer.from(JSON.stringify(['g', r.group])), value: Buffer.from(JSON.stringify({ sessionTimeoutMs: r.sessionTimeoutMs })) };
    case 'marker':
      return { key: Buffer.from(JSON.stringify(['m'])), value: Buffer.from('{}') };
  }
}

/** Decodes a record; undefined for anything this version does not know (skipped on replay). */
export function decodeOffsetsRecord(key: Buffer, value: Buffer): OffsetsRecord | undefined {
  try {
    const k: unknown = JSON.parse(key.toString('utf8'));
    if (!Array.isArray(k)) return undefined;
    const v = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    if (k[0] === 'o' && typeof k[1] === 'string' && typeof k[2] === 'string' && typeof k[3] === 'number' && typeof v.offset === 'number') {
      return {
        kind: 'offset', group: k[1], topic: k[2], partition: k[3],
        value: { offset: v.offset, metadata: typeof v.metadata === 'string' ? v.metadata : '', commitTimeMs: typeof v.commitTimeMs === 'number' ? v.commitTimeMs : 0 },
      };
    }
    if (k[0] === 'g' && typeof k[1] === 'string' && typeof v.sessionTimeoutMs === 'number') return { kind: 'group', group: k[1], sessionTimeoutMs: v.sessionTimeoutMs };
    if (k[0] === 'm') return { kind: 'marker' };
    return undefined;
  } catch {
    return undefined;
  }
}
