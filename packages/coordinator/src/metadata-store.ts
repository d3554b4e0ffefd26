import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MetaKv } from './meta-kv.js';
import type { BrokerRecord, MetadataState, TopicRecord } from './metadata-state.js';

/**
 * How the metadata state lies in the MetaKv: one record for the cluster (id, version), one key per
 * broker and one per topic (with its partitions, leaders and epochs). Every change is written with
 * one atomic, synchronous batch before anyone is told about it.
 */
export const META_KEYS = {
  cluster: 'coordinator/cluster',
  brokerPrefix: 'coordinator/broker/',
  topicPrefix: 'coordinator/topic/',
} as const;

const FORMAT_VERSION = 1;

const clusterSchema = z.object({ format: z.literal(FORMAT_VERSION), clusterId: z.string().min(1), version: z.number().int().min(0) });

const brokerSchema = z.object({
  id: z.number().int().min(1),
  address: z.string(),
  rack: z.string(),
  incarnation: z.string(),
  alive: z.boolean(),
});

const partitionSchema = z.object({
  partition: z.number().int().min(0),
  replicas: z.array(z.number().int()),
  leader: z.number().int().min(-1),
  leaderEpoch: z.number().int().min(0),
  highestEpoch: z.number().int().min(0),
  status: z.enum(['online', 'offline']),
});

const topicSchema = z.object({
  name: z.string().min(1),
  topicId: z.string().min(1),
  replicationFactor: z.number().int().min(1),
  settings: z.object({
    retentionMs: z.number().int(),
    retentionBytes: z.number().int(),
    maxMessageBytes: z.number().int(),
    cleanupPolicy: z.literal('delete'),
    // Absent in records written before replication: false.
    uncleanLeaderElection: z.boolean().default(false),
  }),
  partitions: z.array(partitionSchema),
});

function brokerKey(id: number): string {
  return `${META_KEYS.brokerPrefix}${String(id).padStart(10, '0')}`;
}

function topicKey(name: string): string {
  return `${META_KEYS.topicPrefix}${name}`;
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function decode<T>(schema: z.ZodType<T>, key: string, raw: Buffer): T {
  const parsed = schema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!parsed.success) throw new Error(`corrupt coordinator metadata at ${key}: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Reads the state from the store. A store without a cluster record is new: a random cluster id is
 * made and written at once (so it is fixed from the first start on). Throws on corrupt records.
 */
export async function loadState(kv: MetaKv, newClusterId: () => string = randomUUID): Promise<{ state: MetadataState; created: boolean }> {
  const rawCluster = await kv.get(META_KEYS.cluster);
  if (rawCluster === undefined) {
    const clusterId = newClusterId();
    await kv.put(META_KEYS.cluster, encode({ format: FORMAT_VERSION, clusterId, version: 0 }));
    return { state: { clusterId, version: 0, brokers: new Map(), topics: new Map() }, created: true };
  }
  const cluster = decode(clusterSchema, META_KEYS.cluster, rawCluster);
  const brokers = new Map<number, BrokerRecord>();
  for (const [key, raw] of await kv.entries(META_KEYS.brokerPrefix)) {
    const b = decode(brokerSchema, key, raw);
    brokers.set(b.id, b);
  }
  const topics = new Map<string, TopicRecord>();
  for (const [key, raw] of await kv.entries(META_KEYS.topicPrefix)) {
    const t = decode(topicSchema, key, raw);
    topics.set(t.name, t);
  }
  return { state: { clusterId: cluster.clusterId, version: cluster.version, brokers, topics }, created: false };
}

export type MetaKvOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** The writes that take the stored `prev` to `next` (changed records only; records are immutable, so identity tells). */
export function changeOps(prev: MetadataState, next: MetadataState): MetaKvOp[] {
  const ops: MetaKvOp[] = [];
  for (const [id, b] of next.brokers) if (prev.brokers.get(id) !== b) ops.push({ type: 'put', key: brokerKey(id), value: encode(b) });
  for (const id of prev.brokers.keys()) if (!next.brokers.has(id)) ops.push({ type: 'del', key: brokerKey(id) });
  for (const [name, t] of next.topics) if (prev.topics.get(name) !== t) ops.push({ type: 'put', key: topicKey(name), value: encode(t) });
  for (const name of prev.topics.keys()) if (!next.topics.has(name)) ops.push({ type: 'del', key: topicKey(name) });
  if (ops.length > 0 || prev.version !== next.version || prev.clusterId !== next.clusterId) {
    ops.push({ type: 'put', key: META_KEYS.cluster, value: encode({ format: FORMAT_VERSION, clusterId: next.clusterId, version: next.version }) });
  }
  return ops;
}

/** Persists the change from `prev` to `next` with one synchronous batch; resolves once on disk. */
export async function persistChange(kv: MetaKv, prev: MetadataState, next: MetadataState): Promise<void> {
  const ops = changeOps(prev, next);
  if (ops.length > 0) await kv.batch(ops);
}
