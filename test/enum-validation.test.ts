// Every enum field of every request of the public services (Broker, with the group calls, and
// Coordinator), found by reflection so an enum added later is covered without touching this file:
// an unknown value, sent over raw gRPC as a client in another language could, is refused at once
// with INVALID_ARGUMENT naming the field and the allowed values, and nothing is written.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoRoot } from '@runnel/protocol';
import type { BrokerClient, CoordinatorClient } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { rawBroker, rawCoordinator, toFailure, unary } from './grpc-raw.js';
import type { CallFailure } from './grpc-raw.js';

const PUBLIC_SERVICES = ['Broker', 'Coordinator'] as const;
const TOPIC = 'enums';

interface EnumPath {
  /** camelCase keys from the request down to the enum field; '[]' marks a repeated element. */
  readonly keys: readonly string[];
  readonly enumType: protobuf.Enum;
}

/** Every enum field reachable from `type`, each path once (recursion stops at a type already on the path). */
function enumPaths(type: protobuf.Type, prefix: readonly string[] = [], seen: ReadonlySet<protobuf.Type> = new Set()): EnumPath[] {
  const out: EnumPath[] = [];
  for (const field of type.fieldsArray) {
    field.resolve();
    const keys = field.map ? [...prefix, field.name, '{}'] : field.repeated ? [...prefix, field.name, '[]'] : [...prefix, field.name];
    if (field.resolvedType instanceof protobuf.Enum) out.push({ keys, enumType: field.resolvedType });
    else if (field.resolvedType instanceof protobuf.Type && !seen.has(field.resolvedType)) {
      out.push(...enumPaths(field.resolvedType, keys, new Set([...seen, type])));
    }
  }
  return out;
}

interface EnumCase {
  readonly service: (typeof PUBLIC_SERVICES)[number];
  readonly method: protobuf.Method;
  readonly path: EnumPath;
}

function enumCases(): EnumCase[] {
  const cases: EnumCase[] = [];
  for (const service of PUBLIC_SERVICES) {
    for (const method of protoRoot().lookupService(`runnel.v1.${service}`).methodsArray) {
      method.resolve();
      for (const path of enumPaths(method.resolvedRequestType!)) cases.push({ service, method, path });
    }
  }
  return cases;
}

/** Valid requests, so that without the check the call would act (write, create); others start from {}. */
const BASE_REQUESTS: Record<string, () => Record<string, unknown>> = {
  Produce: () => ({ topic: TOPIC, partition: 0, records: [{ value: Buffer.from('must not be written') }] }),
  ProduceStream: () => ({ correlationId: 1, request: BASE_REQUESTS['Produce']!() }),
  CreateTopic: () => ({ name: 'enum-created', partitions: 1, replicationFactor: 1, config: {} }),
};

/** The base request with `value` set at `keys` (creating messages, one-element lists and maps on the way). */
function withValue(base: Record<string, unknown>, keys: readonly string[], value: number): Record<string, unknown> {
  const root: Record<string, unknown> = structuredClone(base);
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const last = i === keys.length - 1;
    const nextKey = keys[i + 1];
    const fresh = (): unknown => (last ? value : nextKey === '[]' ? [] : {});
    if (key === '[]') {
      const list = node as unknown as unknown[];
      if (last) list[0] = value;
      else list[0] = typeof list[0] === 'object' && list[0] !== null ? list[0] : fresh();
      node = list[0] as Record<string, unknown>;
    } else if (key === '{}') {
      const map = node as Record<string, unknown>;
      map['k'] = last ? value : fresh();
      node = map['k'] as Record<string, unknown>;
    } else {
      const obj = node as Record<string, unknown>;
      if (last) obj[key] = value;
      else if (typeof obj[key] !== 'object' || obj[key] === null) obj[key] = fresh();
      node = obj[key] as Record<string, unknown>;
    }
  }
  return root;
}

/** Sends the request on whatever kind of call the method is; resolves with the failure (rejects on success). */
function callFailure(client: grpc.Client, method: protobuf.Method, request: Record<string, unknown>): Promise<CallFailure> {
  const fns = client as unknown as Record<string, (...args: unknown[]) => grpc.ClientReadableStream<unknown> & grpc.ClientWritableStream<unknown>>;
  const options = { deadline: Date.now() + 10_000 };
  if (!method.requestStream && !method.responseStream) {
    return unary(client, method.name, request).then(
      (v) => Promise.reject(new Error(`${method.name} succeeded: ${JSON.stringify(v)}`)),
      (f: CallFailure) => f,
    );
  }
  return new Promise((resolve, reject) => {
    const call = method.requestStream ? fns[method.name]!.call(client, options) : fns[method.name]!.call(client, request, options);
    call.on('data', (m: unknown) => reject(new Error(`${method.name} answered ${JSON.stringify(m)}`)));
    call.on('error', (e: grpc.ServiceError) => resolve(toFailure(e)));
    call.on('end', () => reject(new Error(`${method.name} ended without an error`)));
    if (method.requestStream) call.write(request);
  });
}

describe('unknown enum values in requests', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  let broker: BrokerClient;
  const cases = enumCases();

  const logEnd = async (): Promise<number> => {
    const r = await unary<object, { partitions: Array<{ logEndOffset: number }> }>(broker, 'ListOffsets', { topic: TOPIC, partitions: [0] });
    return r.partitions[0]!.logEndOffset;
  };
  const topicNames = async (): Promise<string[]> =>
    (await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {})).topics.map((t) => t.name).sort();

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 1 });
    coordinator = rawCoordinator(cluster.bootstrap);
    broker = rawBroker(cluster.brokers[0]!.address);
    await unary(coordinator, 'CreateTopic', { name: TOPIC, partitions: 1, replicationFactor: 1 });
    await waitFor(() => unary(broker, 'Produce', { topic: TOPIC, partition: 0, records: [{ value: Buffer.from('first') }] }), {
      timeoutMs: 15_000, description: 'the leader to accept writes',
    });
  });

  afterAll(async () => {
    coordinator?.close();
    broker?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('reflection finds the enums of the contract (acks, in Produce and ProduceStream; cleanup_policy in CreateTopic)', () => {
    const found = cases.map((c) => `${c.method.name}.${c.path.keys.join('.')}`);
    expect(found).toEqual(expect.arrayContaining(['Produce.acks', 'ProduceStream.request.acks', 'CreateTopic.config.cleanupPolicy']));
  });

  it.each(cases.flatMap((c) => [99, -1].map((value) => ({ ...c, value, name: `${c.service}.${c.method.name} ${c.path.keys.join('.')} = ${value}` }))))(
    '$name is refused with INVALID_ARGUMENT naming the field and the allowed values, and changes nothing',
    async ({ service, method, path, value }) => {
      const client: grpc.Client = service === 'Broker' ? broker : coordinator;
      const request = withValue(BASE_REQUESTS[method.name]?.() ?? {}, path.keys, value);
      const [endBefore, topicsBefore] = [await logEnd(), await topicNames()];
      const started = Date.now();
      const f = await callFailure(client, method, request);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(f.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(f.errorCode).toBe('INVALID_REQUEST');
      const fieldName = path.keys.filter((k) => k !== '[]' && k !== '{}').at(-1)!.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      expect(f.details).toContain(fieldName);
      expect(f.details).toContain(String(value));
      for (const allowed of Object.keys(path.enumType.values)) expect(f.details).toContain(allowed);
      expect(await logEnd()).toBe(endBefore);
      expect(await topicNames()).toEqual(topicsBefore);
    },
    30_000,
  );
});
