import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { ERROR_METADATA, GRPC_CHANNEL_OPTIONS, runnelGrpc } from '@runnel/protocol';
import type {
  BrokerClient, BrokerHeartbeat__Output, ClusterMetadata, HeartbeatAck, ProduceRequest, ProduceResponse__Output,
  RegisterBrokerRequest__Output, RegisterBrokerResponse, TopicInfo, WatchMetadataRequest__Output,
} from '@runnel/protocol';
import { parseBrokerConfig, startBroker } from '../src/index.js';
import type { RunningBroker } from '../src/index.js';

export const silentLogger = pino({ level: 'silent' });

/** Waits until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'runnel-broker-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TopicSpec {
  name: string;
  topicId?: string;
  partitions: number;
  /** Leader per partition (broker id, -1 offline); default all broker 1. */
  leaders?: number[];
  epoch?: number;
  maxMessageBytes?: number;
  retentionMs?: number;
  retentionBytes?: number;
}

export function topic(spec: TopicSpec): TopicInfo {
  return {
    name: spec.name,
    topicId: spec.topicId ?? `id-${spec.name}`,
    replicationFactor: 1,
    config: { retentionMs: spec.retentionMs ?? 7 * 24 * 3600 * 1000, retentionBytes: spec.retentionBytes ?? -1, maxMessageBytes: spec.maxMessageBytes ?? 1024 * 1024, cleanupPolicy: 'CLEANUP_POLICY_DELETE' },
    partitions: Array.from({ length: spec.partitions }, (_, p) => {
      const leader = spec.leaders?.[p] ?? 1;
      return {
        partition: p,
        leader,
        replicas: [leader >= 0 ? leader : 1],
        leaderEpoch: spec.epoch ?? 1,
        state: leader >= 0 ? 'PARTITION_STATE_ONLINE' : 'PARTITION_STATE_OFFLINE',
      };
    }),
  };
}

/**
 * A stub coordinator: RegisterBroker, Heartbeat, WatchMetadata over hand-made metadata the test
 * changes with setTopics (each change bumps the version and is pushed to watchers).
 */
export class StubCoordinator {
  readonly registrations: RegisterBrokerRequest__Output[] = [];
  heartbeats = 0;
  private version = 1;
  private topics: TopicInfo[] = [];
  private readonly extraBrokers: Array<{ id: number; address: string; alive: boolean; rack: string }> = [];
  private readonly watchers = new Set<grpc.ServerWritableStream<WatchMetadataRequest__Output, ClusterMetadata>>();
  private readonly heartbeatCalls = new Set<grpc.ServerDuplexStream<BrokerHeartbeat__Output, HeartbeatAck>>();
  private constructor(readonly server: grpc.Server, readonly address: string) {}

  static async start(port = 0): Promise<StubCoordinator> {
    const server = new grpc.Server();
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const stub = new StubCoordinator(server, `127.0.0.1:${bound}`);
    server.addService(runnelGrpc().runnel.v1.Coordinator.service as unknown as grpc.ServiceDefinition, {
      RegisterBroker: (call: grpc.ServerUnaryCall<RegisterBrokerRequest__Output, RegisterBrokerResponse>, cb: grpc.sendUnaryData<RegisterBrokerResponse>) => {
        stub.registrations.push(call.request);
        stub.version++;
        cb(null, { heartbeatIntervalMs: 50, sessionTimeoutMs: 1000, metadata: stub.metadata() });
      },
      Heartbeat: (call: grpc.ServerDuplexStream<BrokerHeartbeat__Output, HeartbeatAck>) => {
        stub.heartbeatCalls.add(call);
        call.on('data', () => {
          stub.heartbeats++;
          call.write({ metadataVersion: stub.version });
        });
        call.on('end', () => call.end());
        call.on('error', () => stub.heartbeatCalls.delete(call));
        call.on('cancelled', () => stub.heartbeatCalls.delete(call));
      },
      WatchMetadata: (call: grpc.ServerWritableStream<WatchMetadataRequest__Output, ClusterMetadata>) => {
        stub.watchers.add(call);
        call.write(stub.metadata());
        call.on('cancelled', () => stub.watchers.delete(call));
        call.on('error', () => stub.watchers.delete(call));
      },
    });
    return stub;
  }

  metadata(): ClusterMetadata {
    const brokers = new Map<number, { id: number; address: string; alive: boolean; rack: string }>();
    for (const r of this.registrations) brokers.set(r.brokerId, { id: r.brokerId, address: r.address, alive: true, rack: r.rack });
    for (const b of this.extraBrokers) brokers.set(b.id, b);
    return { version: this.version, clusterId: 'test-cluster', brokers: [...brokers.values()].sort((a, b) => a.id - b.id), topics: this.topics };
  }

  addBroker(id: number, address: string): void {
    this.extraBrokers.push({ id, address, alive: true, rack: '' });
    this.version++;
  }

  /** Replaces the topics and pushes the new snapshot. */
  setTopics(topics: TopicInfo[]): void {
    this.topics = [...topics].sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1));
    this.version++;
    const md = this.metadata();
    for (const w of this.watchers) w.write(md);
  }

  /** Ends every heartbeat stream with UNKNOWN_BROKER (as a restarted coordinator would). */
  rejectHeartbeats(): void {
    for (const call of this.heartbeatCalls) {
      const metadata = new grpc.Metadata();
      metadata.set(ERROR_METADATA.code, 'UNKNOWN_BROKER');
      metadata.set(ERROR_METADATA.retriable, 'true');
      call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'unknown broker', metadata });
    }
    this.heartbeatCalls.clear();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  close(): void {
    this.server.forceShutdown();
  }
}

export interface Harness {
  coordinator: StubCoordinator;
  broker: RunningBroker;
  client: BrokerClient;
  dataDir: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A stub coordinator with `topics`, a broker (id 1) on 127.0.0.1:0 and a client to it. */
export async function startHarness(topics: TopicInfo[], options: { retentionCheckIntervalMs?: number } = {}): Promise<Harness> {
  const coordinator = await StubCoordinator.start();
  coordinator.setTopics(topics);
  const dir = await tempDir();
  const config = parseBrokerConfig({
    id: 1, dataDir: dir.path, port: 0, coordinator: coordinator.address, fsync: 'never', logLevel: 'silent',
    retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? 60_000,
  });
  const h: Harness = {
    coordinator,
    broker: await startBroker(config, silentLogger),
    client: undefined as unknown as BrokerClient,
    dataDir: dir.path,
    async restart() {
      h.client.close();
      await h.broker.close();
      h.broker = await startBroker(config, silentLogger);
      h.client = brokerClient(h.broker.address);
    },
    async close() {
      h.client.close();
      await h.broker.close();
      coordinator.close();
      await dir.remove();
    },
  };
  h.client = brokerClient(h.broker.address);
  return h;
}

export function brokerClient(address: string): BrokerClient {
  const Broker = runnelGrpc().runnel.v1.Broker;
  return new Broker(address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
}

export function produce(client: BrokerClient, request: ProduceRequest): Promise<ProduceResponse__Output> {
  return new Promise((resolve, reject) => client.Produce(request, (err, res) => (err ? reject(err) : resolve(res!))));
}

/** The error of a call that must fail. */
export async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

export function errorCode(err: grpc.ServiceError): string | undefined {
  const v = err.metadata?.get(ERROR_METADATA.code)[0];
  return v === undefined ? undefined : String(v);
}

export function value(text: string): { value: Buffer } {
  return { value: Buffer.from(text) };
}

export function unary<Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res!))));
}
