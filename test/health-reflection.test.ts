// Every process serves grpc.health.v1 and server reflection, so generic tools (grpcurl and the like)
// work without our .proto files. Checked here with clients built only from those two standard protos.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';

const require = createRequire(import.meta.url);
const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection')), '../proto/grpc/reflection/v1/reflection.proto');
const loaded = grpc.loadPackageDefinition(protoLoader.loadSync([healthProtoPath, reflectionProto], { keepCase: true, longs: String, enums: String, defaults: true })) as unknown as {
  grpc: { health: { v1: { Health: typeof grpc.Client } }; reflection: { v1: { ServerReflection: typeof grpc.Client } } };
};

function healthCheck(address: string, service: string): Promise<string> {
  const client = new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as grpc.Client & {
    Check(req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.Check({ service }, { deadline: Date.now() + 5000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!.status);
    }),
  );
}

function reflect(address: string, request: object): Promise<Record<string, unknown>> {
  const client = new loaded.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure()) as grpc.Client & {
    ServerReflectionInfo(opts: grpc.CallOptions): grpc.ClientDuplexStream<object, Record<string, unknown>>;
  };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: Date.now() + 5000 });
    call.on('data', (msg) => {
      resolve(msg);
      call.end();
      client.close();
    });
    call.on('error', reject);
    call.write(request);
  });
}

describe('health and reflection', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ brokers: 1 });
  });
  afterAll(async () => {
    await cluster?.stopAll({ removeData: true });
  });

  it('reports SERVING for the process and its service', async () => {
    expect(await healthCheck(cluster.bootstrap, '')).toBe('SERVING');
    expect(await healthCheck(cluster.bootstrap, 'runnel.v1.Coordinator')).toBe('SERVING');
    expect(await healthCheck(cluster.brokers[0]!.address, '')).toBe('SERVING');
    expect(await healthCheck(cluster.brokers[0]!.address, 'runnel.v1.Broker')).toBe('SERVING');
  });

  it('lists and describes the Runnel services by reflection', async () => {
    const list = (await reflect(cluster.brokers[0]!.address, { list_services: '' })) as { list_services_response: { service: Array<{ name: string }> } };
    expect(list.list_services_response.service.map((s) => s.name)).toEqual(expect.arrayContaining(['runnel.v1.Broker']));
    const file = (await reflect(cluster.bootstrap, { file_containing_symbol: 'runnel.v1.Coordinator' })) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
    const descriptors = file.file_descriptor_response.file_descriptor_proto.map((b) => b.toString('latin1'));
    expect(descriptors.some((d) => d.includes('CreateTopic'))).toBe(true);
  });
});
