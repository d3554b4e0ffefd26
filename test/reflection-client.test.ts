// A generic gRPC client, as grpcurl works: no Runnel stubs and no .proto files. It asks the
// server-reflection service which services exist and for their FileDescriptorProtos, builds the
// message types from those descriptors at run time (protobufjs), and makes real calls with
// grpc.Client.makeUnaryRequest. The only schemas written here are the two standard bootstrap
// services every such tool carries built in: grpc.reflection.v1 and grpc.health.v1.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';

const CALL_DEADLINE_MS = 10_000;
/** Files fetched by reflection at most (each dependency once); the Runnel contract has six. */
const REFLECTED_FILES_MAX = 50;

/** grpc.reflection.v1 and grpc.health.v1, the subset of their fields a client needs. */
const bootstrapRoot = protobuf.Root.fromJSON({
  nested: {
    grpc: {
      nested: {
        reflection: {
          nested: {
            v1: {
              nested: {
                ServerReflectionRequest: {
                  oneofs: { message_request: { oneof: ['file_by_filename', 'file_containing_symbol', 'list_services'] } },
                  fields: {
                    host: { type: 'string', id: 1 },
                    file_by_filename: { type: 'string', id: 3 },
                    file_containing_symbol: { type: 'string', id: 4 },
                    list_services: { type: 'string', id: 7 },
                  },
                },
                ServerReflectionResponse: {
                  oneofs: { message_response: { oneof: ['file_descriptor_response', 'list_services_response', 'error_response'] } },
                  fields: {
                    file_descriptor_response: { type: 'FileDescriptorResponse', id: 4 },
                    list_services_response: { type: 'ListServiceResponse', id: 6 },
                    error_response: { type: 'ErrorResponse', id: 7 },
                  },
                },
                FileDescriptorResponse: { fields: { file_descriptor_proto: { rule: 'repeated', type: 'bytes', id: 1 } } },
                ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
                ServiceResponse: { fields: { name: { type: 'string', id: 1 } } },
                ErrorResponse: { fields: { error_code: { type: 'int32', id: 1 }, error_message: { type: 'string', id: 2 } } },
              },
            },
          },
        },
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
              },
            },
          },
        },
      },
    },
  },
});

type Obj = Record<string, unknown>;

const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Field names: the processes' reflection serves descriptors whose field names are lowerCamelCase
 * (`replicationFactor`), not the .proto names (`replication_factor`). So, as grpcurl's JSON input
 * does, a request field is found by its .proto name or its camelCase form (an unknown field is an
 * error, never silently dropped), and answers use the .proto (snake_case) names, whichever the
 * server reflects. Map keys are data and are left alone.
 */
function convert(type: protobuf.Type, value: Obj, direction: 'request' | 'answer'): Obj {
  const out: Obj = {};
  for (const [name, v] of Object.entries(value)) {
    const field = type.fields[name] ?? (direction === 'request' ? type.fields[camel(name)] : undefined);
    if (field === undefined) throw new Error(`${type.fullName} has no field ${name}`);
    const sub = field.resolve().resolvedType;
    const one = (x: unknown): unknown => (sub instanceof protobuf.Type && x !== null && typeof x === 'object' ? convert(sub, x as Obj, direction) : x);
    const converted = field.map
      ? Object.fromEntries(Object.entries(v as Obj).map(([k, x]) => [k, one(x)]))
      : field.repeated ? (v as unknown[]).map(one) : one(v);
    out[direction === 'request' ? field.name : snake(field.name)] = converted;
  }
  return out;
}

/** Serializer and deserializer of a message type: plain objects in, plain objects out. */
function codec(type: protobuf.Type): { serialize: (value: Obj) => Buffer; deserialize: (bytes: Buffer) => Obj } {
  return {
    serialize: (value) => Buffer.from(type.encode(type.fromObject(convert(type, value, 'request'))).finish()),
    deserialize: (bytes) => convert(type, type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true }), 'answer'),
  };
}

interface Failure {
  code: grpc.status;
  trailers: Record<string, string>;
}

/** One unary call by full method path, with the request and response types given. */
function unary(address: string, path: string, requestType: protobuf.Type, responseType: protobuf.Type, request: Obj, metadata = new grpc.Metadata()): Promise<Obj> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const req = codec(requestType);
  const res = codec(responseType);
  return new Promise<Obj>((resolve, reject) => {
    client.makeUnaryRequest(path, req.serialize, res.deserialize, request, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (err, value) => {
      client.close();
      if (err) {
        const trailers = Object.fromEntries(Object.entries(err.metadata?.getMap() ?? {}).map(([k, v]) => [k, String(v)]));
        reject(Object.assign(new Error(`${path}: ${err.details}`), { failure: { code: err.code, trailers } satisfies Failure }));
      } else resolve(value!);
    });
  });
}

/** Sends reflection requests on one ServerReflectionInfo stream; resolves with the answers in order. */
function reflect(address: string, requests: readonly Obj[]): Promise<Obj[]> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const req = codec(bootstrapRoot.lookupType('grpc.reflection.v1.ServerReflectionRequest'));
  const res = codec(bootstrapRoot.lookupType('grpc.reflection.v1.ServerReflectionResponse'));
  return new Promise<Obj[]>((resolve, reject) => {
    const call = client.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', req.serialize, res.deserialize, {
      deadline: Date.now() + CALL_DEADLINE_MS,
    });
    const answers: Obj[] = [];
    call.on('data', (answer: Obj) => answers.push(answer));
    call.on('error', (err) => {
      client.close();
      reject(err);
    });
    call.on('end', () => {
      client.close();
      resolve(answers);
    });
    for (const r of requests) call.write(r);
    call.end();
  });
}

async function listServices(address: string): Promise<string[]> {
  const [answer] = await reflect(address, [{ list_services: '' }]);
  const list = answer!['list_services_response'] as { service: Array<{ name: string }> };
  return list.service.map((s) => s.name);
}

/**
 * The files defining `symbols`, and every file they import (asked for by name when the server did
 * not send it along), as one protobufjs Root.
 */
async function reflectedRoot(address: string, symbols: readonly string[]): Promise<protobuf.Root> {
  const files = new Map<string, protobuf.Message & { name: string; dependency: string[] }>();
  let requests: Obj[] = symbols.map((s) => ({ file_containing_symbol: s }));
  while (requests.length > 0) {
    for (const answer of await reflect(address, requests)) {
      if (answer['error_response'] !== undefined && answer['error_response'] !== null) throw new Error(`reflection: ${JSON.stringify(answer['error_response'])}`);
      const { file_descriptor_proto: protos } = answer['file_descriptor_response'] as { file_descriptor_proto: Uint8Array[] };
      for (const bytes of protos) {
        const file = descriptorExt.FileDescriptorProto.decode(bytes) as protobuf.Message & { name: string; dependency: string[] };
        files.set(file.name, file);
      }
    }
    expect(files.size).toBeLessThanOrEqual(REFLECTED_FILES_MAX);
    const missing = new Set([...files.values()].flatMap((f) => f.dependency).filter((d) => !files.has(d)));
    requests = [...missing].map((name) => ({ file_by_filename: name }));
  }
  const set = descriptorExt.FileDescriptorSet.create({ file: [...files.values()] });
  const root = (protobuf.Root as unknown as { fromDescriptor(set: protobuf.Message): protobuf.Root }).fromDescriptor(set);
  restoreMapFields(root);
  root.resolveAll();
  return root;
}

/**
 * In a descriptor a `map<K, V>` field is a repeated field of a nested `XEntry { K key = 1; V value = 2; }`
 * message marked map_entry; protobufjs' fromDescriptor keeps it that way (an array of entries).
 * Turn each back into a map field (same wire encoding), so maps are plain objects, as in the .proto.
 */
function restoreMapFields(ns: protobuf.NamespaceBase): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) {
      for (const field of [...nested.fieldsArray]) {
        const entry = field.repeated ? nested.nested?.[field.type] : undefined;
        if (!(entry instanceof protobuf.Type) || entry.options?.['map_entry'] !== true) continue;
        const [key, value] = [entry.fields['key'], entry.fields['value']];
        if (key === undefined || value === undefined) throw new Error(`${entry.fullName}: a map entry without key and value`);
        nested.remove(field);
        nested.add(new protobuf.MapField(field.name, field.id, key.type, value.type));
      }
    }
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) restoreMapFields(nested);
  }
}

/** Calls `service`/`method` with the types the reflected Root says it takes. */
function call(root: protobuf.Root, address: string, service: string, method: string, request: Obj, metadata?: grpc.Metadata): Promise<Obj> {
  const m = root.lookupService(service).methods[method];
  if (m === undefined) throw new Error(`${service} has no method ${method}`);
  m.resolve();
  return unary(address, `/${service}/${method}`, m.resolvedRequestType!, m.resolvedResponseType!, request, metadata);
}

async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (err) {
    const failure = (err as { failure?: Failure }).failure;
    if (failure !== undefined) return failure;
    throw err;
  }
  throw new Error('the call succeeded; it should have failed');
}

describe('a generic client built from server reflection alone', () => {
  let cluster: Cluster;
  let brokerRoot: protobuf.Root;
  let coordinatorRoot: protobuf.Root;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 1 });
    brokerRoot = await reflectedRoot(cluster.brokers[0]!.address, ['runnel.v1.Broker']);
    coordinatorRoot = await reflectedRoot(cluster.bootstrap, ['runnel.v1.Coordinator']);
  });
  afterAll(async () => {
    await cluster?.stopAll({ removeData: true });
  });

  it('lists the services and fetches their descriptors (with their imports)', async () => {
    // Each process lists what it serves (and health), nothing else.
    expect((await listServices(cluster.brokers[0]!.address)).sort()).toEqual(['grpc.health.v1.Health', 'runnel.v1.Broker', 'runnel.v1.Replication']);
    expect((await listServices(cluster.bootstrap)).sort()).toEqual(['grpc.health.v1.Health', 'runnel.v1.Coordinator']);
    expect(Object.keys(brokerRoot.lookupService('runnel.v1.Broker').methods)).toEqual(expect.arrayContaining(['Produce', 'Fetch', 'Subscribe', 'GetMetadata']));
    expect(Object.keys(coordinatorRoot.lookupService('runnel.v1.Coordinator').methods)).toEqual(expect.arrayContaining(['CreateTopic', 'DescribeCluster']));
    // Types from imported files resolve too (Batch is in records.proto, imported by broker.proto).
    expect(brokerRoot.lookupType('runnel.v1.Batch').fields['records']!.resolve().resolvedType?.fullName).toBe('.runnel.v1.RecordSet');
  });

  it('creates a topic, produces to the leader and fetches the records back', async () => {
    const topic = await call(coordinatorRoot, cluster.bootstrap, 'runnel.v1.Coordinator', 'CreateTopic', { name: 'reflected', partitions: 2, replication_factor: 1 });
    expect(topic).toMatchObject({ name: 'reflected', replication_factor: 1 });
    const partitions = topic['partitions'] as Array<{ partition: number; leader: number }>;
    expect(partitions).toHaveLength(2);

    const meta = await call(coordinatorRoot, cluster.bootstrap, 'runnel.v1.Coordinator', 'DescribeCluster', {});
    const brokers = new Map((meta['brokers'] as Array<{ id: number; address: string }>).map((b) => [b.id, b.address]));
    const leader = brokers.get(partitions[1]!.leader)!;
    expect(leader).toBe(cluster.brokers[0]!.address);

    const produced = await call(brokerRoot, leader, 'runnel.v1.Broker', 'Produce', {
      topic: 'reflected',
      partition: 1,
      records: [{ key: Buffer.from('k'), value: Buffer.from('one') }, { value: Buffer.from('two'), headers: { h: Buffer.from('x') } }],
      acks: 'ACKS_QUORUM',
    });
    expect(produced).toMatchObject({ topic: 'reflected', partition: 1, base_offset: '0', record_count: 2 });

    const fetched = await call(brokerRoot, leader, 'runnel.v1.Broker', 'Fetch', { topic: 'reflected', partition: 1, offset: 0, max_wait_ms: 1000 });
    expect(fetched['high_watermark']).toBe('2');
    const batches = fetched['batches'] as Array<{ base_offset: string; records: { records: Array<{ key: Buffer; value: Buffer; headers: Record<string, Buffer> }> } }>;
    const records = batches.flatMap((b) => b.records.records);
    expect(records.map((r) => Buffer.from(r.value).toString())).toEqual(['one', 'two']);
    expect(Buffer.from(records[0]!.key).toString()).toBe('k');
    expect(Buffer.from(records[1]!.headers['h']!).toString()).toBe('x');
  });

  it('reads errors from the status and the runnel-* trailers', async () => {
    const produce = await failureOf(call(brokerRoot, cluster.brokers[0]!.address, 'runnel.v1.Broker', 'Produce', { topic: 'no-such-topic', records: [{ value: Buffer.from('x') }] }));
    expect(produce.code).toBe(grpc.status.NOT_FOUND);
    expect(produce.trailers).toMatchObject({ 'runnel-error-code': 'UNKNOWN_TOPIC', 'runnel-retriable': 'false' });
    const describe = await failureOf(call(coordinatorRoot, cluster.bootstrap, 'runnel.v1.Coordinator', 'DescribeTopic', { name: 'no-such-topic' }));
    expect(describe.code).toBe(grpc.status.NOT_FOUND);
    expect(describe.trailers['runnel-error-code']).toBe('UNKNOWN_TOPIC');
  });

  it('reports SERVING on grpc.health.v1.Health', async () => {
    const request = bootstrapRoot.lookupType('grpc.health.v1.HealthCheckRequest');
    const response = bootstrapRoot.lookupType('grpc.health.v1.HealthCheckResponse');
    const check = (address: string, service: string): Promise<Obj> => unary(address, '/grpc.health.v1.Health/Check', request, response, { service });
    expect(await check(cluster.bootstrap, '')).toEqual({ status: 'SERVING' });
    expect(await check(cluster.bootstrap, 'runnel.v1.Coordinator')).toEqual({ status: 'SERVING' });
    expect(await check(cluster.brokers[0]!.address, 'runnel.v1.Broker')).toEqual({ status: 'SERVING' });
  });
});
