import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ProtoGrpcType as BrokerGrpc } from './generated/broker.js';
import type { ProtoGrpcType as CoordinatorGrpc } from './generated/coordinator.js';
import type { ProtoGrpcType as ReplicationGrpc } from './generated/replication.js';

/** Folder holding `runnel/v1/*.proto` (the repository's top-level `proto/`). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** Every proto file (the internal Replication service included), relative to PROTO_DIR. */
export const PROTO_FILES = [
  'runnel/v1/records.proto',
  'runnel/v1/metadata.proto',
  'runnel/v1/groups.proto',
  'runnel/v1/broker.proto',
  'runnel/v1/coordinator.proto',
  'runnel/v1/replication.proto',
] as const;

/**
 * The one set of proto-loader options used everywhere (must match scripts/gen-proto-types.sh):
 * camelCase fields, 64-bit integers as JS numbers (offsets stay far below 2^53), enums as
 * their names, defaults filled in, and a virtual field naming the set member of each oneof.
 */
export const LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
} satisfies protoLoader.Options;

export type RunnelGrpc = BrokerGrpc & CoordinatorGrpc & ReplicationGrpc;

let packageDefinition: protoLoader.PackageDefinition | undefined;
let grpcObject: RunnelGrpc | undefined;
let root: protobuf.Root | undefined;

/** The proto-loader package definition of every Runnel service (loaded once). */
export function runnelPackageDefinition(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS);
  return packageDefinition;
}

/** Client constructors and service definitions: `runnelGrpc().runnel.v1.Broker`. */
export function runnelGrpc(): RunnelGrpc {
  grpcObject ??= grpc.loadPackageDefinition(runnelPackageDefinition()) as unknown as RunnelGrpc;
  return grpcObject;
}

/** protobufjs reflection root, for encoding messages outside a gRPC call (batches, record sets). */
export function protoRoot(): protobuf.Root {
  if (root === undefined) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) =>
      target.startsWith('/') ? target : `${PROTO_DIR}/${target}`;
    r.loadSync([...PROTO_FILES], { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root;
}

/** A message type by its short name in package runnel.v1, e.g. `messageType('RecordSet')`. */
export function messageType(name: string): protobuf.Type {
  return protoRoot().lookupType(`runnel.v1.${name}`);
}
