import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { GRPC_SERVER_OPTIONS } from './limits.js';
import { LOADER_OPTIONS, PROTO_FILES } from './loader.js';
import { guardedDefinition, requestGuardInterceptor } from './request-guard.js';
import type { StreamLimits } from './stream-limits.js';

let reflectionDefinition: protoLoader.PackageDefinition | undefined;

/**
 * What reflection describes: the Runnel protos with their field names as written in the .proto
 * files (the shared LOADER_OPTIONS camelCase them, which generic tools such as grpcurl would then
 * reject), plus grpc.health.v1 so `grpcurl … grpc.health.v1.Health/Check` works without files.
 */
function reflectionPackageDefinition(): protoLoader.PackageDefinition {
  if (reflectionDefinition === undefined) {
    const healthDir = join(dirname(createRequire(import.meta.url).resolve('grpc-health-check/package.json')), 'proto');
    reflectionDefinition = protoLoader.loadSync([...PROTO_FILES, 'health/v1/health.proto'], {
      ...LOADER_OPTIONS, keepCase: true, includeDirs: [...LOADER_OPTIONS.includeDirs, healthDir],
    });
  }
  return reflectionDefinition;
}

export interface ServiceRegistration {
  /** Fully qualified name reported by health, e.g. 'runnel.v1.Broker'. */
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  /** Process-wide bounds on open calls of some methods (stream-limits.ts); none by default. */
  readonly streamLimits?: StreamLimits;
}

export interface RunningServer {
  readonly server: grpc.Server;
  /** Port actually bound (useful with port 0). */
  readonly port: number;
  /** Marks the process's services SERVING / NOT_SERVING in grpc.health.v1. */
  setServing(serving: boolean): void;
  /** Stops accepting calls; after `graceMs`, cancels the remaining ones. */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Starts a gRPC server on host:port with the given services plus grpc.health.v1 (overall "" and
 * each service, NOT_SERVING until setServing(true)) and server reflection for every Runnel proto,
 * so generic tools work without the .proto files. Requests are validated against their message
 * types first (unknown enum values, the encoded-size limits) and status details are capped; calls
 * over a stream limit are refused before that.
 */
export async function startGrpcServer(host: string, port: number, services: readonly ServiceRegistration[], options: GrpcServerOptions = {}): Promise<RunningServer> {
  // Every request is checked against its message type before a handler sees it (request-guard.ts).
  // The stream limits come first in the list, i.e. innermost (grpc-js wraps in list order), so every
  // status - the request guard's refusals included - passes through them and frees the call's slot.
  const interceptors = options.streamLimits === undefined ? [requestGuardInterceptor] : [options.streamLimits.interceptor, requestGuardInterceptor];
  const server = new grpc.Server({ ...GRPC_SERVER_OPTIONS, interceptors });
  for (const s of services) server.addService(guardedDefinition(s.definition), s.implementation);
  const names = ['', ...services.map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'NOT_SERVING' as const])));
  health.addToServer(server);
  // Only what this process serves: a broker does not advertise the Coordinator service, and the reverse.
  new ReflectionService(reflectionPackageDefinition(), { services: [...services.map((s) => s.name), 'grpc.health.v1.Health'] }).addToServer(server);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    server,
    port: bound,
    setServing(serving) {
      for (const n of names) health.setStatus(n, serving ? 'SERVING' : 'NOT_SERVING');
    },
    async shutdown(graceMs) {
      for (const n of names) health.setStatus(n, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
