import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { ERROR_METADATA, GRPC_CHANNEL_OPTIONS, runnelGrpc } from '@runnel/protocol';
import type {
  BrokerClient, BrokerHeartbeat__Output, ClusterMetadata, ControlledShutdownRequest__Output, ControlledShutdownResponse,
  DeclineLeadershipRequest__Output, DeclineLeadershipResponse, HeartbeatAck, LeaderPartitionStatus__Output, PartitionInfo,
  PrepareEpochResponse__Output, ProduceRequest, ProduceResponse__Output, RegisterBrokerRequest__Output, RegisterBrokerResponse,
  ReplicationClient, TopicInfo, WatchMetadataRequest__Output,
} from '@runnel/protocol';
import { parseBrokerConfig, startBroker } from '../src/index.js';
import type { RunningBroker, StartBrokerOptions } from '../src/index.js';

export const silentLogger = pino({ level: process.env['RUNNEL_TEST_LOG'] ?? 'silent' });

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
  /** Replica set per partition; default [leader]. */
  replicas?: number[][];
  epoch?: number;
  maxMessageBytes?: number;
  retentionMs?: number;
  retentionBytes?: number;
}

export function topic(spec: TopicSpec): TopicInfo {
  return {
    name: spec.name,
    topicId: spec.topicId ?? `id-${spec.name}`,
    replicationFactor: spec.replicas?.[0]?.length ?? 1,
    config: { retentionMs: spec.retentionMs ?? 7 * 24 * 3600 * 1000, retentionBytes: spec.retentionBytes ?? -1, maxMessageBytes: spec.maxMessageBytes ?? 1024 * 1024, cleanupPolicy: 'CLEANUP_POLICY_DELETE' },
    partitions: Array.from({ length: spec.partitions }, (_, p) => {
      const leader = spec.leaders?.[p] ?? 1;
      return {
        partition: p,
        leader,
        replicas: spec.replicas?.[p] ?? [leader >= 0 ? leader : 1],
        leaderEpoch: spec.epoch ?? 1,
        state: leader >= 0 ? 'PARTITION_STATE_ONLINE' : 'PARTITION_STATE_OFFLINE',
      };
    }),
  };
}

/**
 * A stub coordinator: RegisterBroker, Heartbeat, WatchMetadata over hand-made metadata the test
 * changes with setTopics (each change bumps the version and is pushed to watchers), plus the
 * election duties a broker relies on: before a broker is named leader at an epoch, PrepareEpoch of
 * that epoch is called on it (at registration for what it leads — a new epoch if this partition's
 * epoch was already prepared, as after a restart — and in setTopics); DeclineLeadership re-elects
 * the same leader at a new epoch; ControlledShutdown is UNIMPLEMENTED unless `moveOnShutdown`.
 */
/** The cluster id of the stub coordinator's metadata and PrepareEpoch requests. */
export const STUB_CLUSTER_ID = 'test-cluster';

export class StubCoordinator {
  readonly registrations: RegisterBrokerRequest__Output[] = [];
  readonly declines: DeclineLeadershipRequest__Output[] = [];
  /** DeclineLeadership requests of leaders reporting they are isolated (recorded, nothing else). */
  readonly isolations: DeclineLeadershipRequest__Output[] = [];
  readonly shutdowns: ControlledShutdownRequest__Output[] = [];
  /** Latest non-empty heartbeat partition statuses per broker. */
  readonly statuses = new Map<number, LeaderPartitionStatus__Output[]>();
  heartbeats = 0;
  /** ControlledShutdown moves the broker's leaderships to another live replica (else UNIMPLEMENTED). */
  moveOnShutdown = false;
  private version = 1;
  private topics: TopicInfo[] = [];
  /** Highest epoch prepared per partition. */
  private readonly prepared = new Map<string, number>();
  /** Per partition: `broker/incarnation/epoch` of the last PrepareEpoch answered. */
  private readonly preparedBy = new Map<string, string>();
  private readonly clients = new Map<string, ReplicationClient>();
  private readonly stopped = new Set<number>();
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
        stub.stopped.delete(call.request.brokerId);
        stub.version++;
        stub.prepareLeadershipsOf(call.request.brokerId).then(
          () => cb(null, { heartbeatIntervalMs: 50, sessionTimeoutMs: 1000, metadata: stub.metadata() }),
          (err: unknown) => cb({ code: grpc.status.UNAVAILABLE, details: String(err) }),
        );
      },
      Heartbeat: (call: grpc.ServerDuplexStream<BrokerHeartbeat__Output, HeartbeatAck>) => {
        stub.heartbeatCalls.add(call);
        call.on('data', (beat: BrokerHeartbeat__Output) => {
          stub.heartbeats++;
          if (beat.partitions.length > 0) stub.statuses.set(beat.brokerId, beat.partitions);
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
      ControlledShutdown: (call: grpc.ServerUnaryCall<ControlledShutdownRequest__Output, ControlledShutdownResponse>, cb: grpc.sendUnaryData<ControlledShutdownResponse>) => {
        stub.shutdowns.push(call.request);
        if (!stub.moveOnShutdown) {
          cb({ code: grpc.status.UNIMPLEMENTED, details: 'not implemented' });
          return;
        }
        stub.moveLeadershipsAway(call.request.brokerId).then(
          (remaining) => cb(null, { leadershipsRemaining: remaining }),
          (err: unknown) => cb({ code: grpc.status.UNAVAILABLE, details: String(err) }),
        );
      },
      DeclineLeadership: (call: grpc.ServerUnaryCall<DeclineLeadershipRequest__Output, DeclineLeadershipResponse>, cb: grpc.sendUnaryData<DeclineLeadershipResponse>) => {
        const { topicId, partition, brokerId, isolated } = call.request;
        cb(null, {});
        // An isolated leader's request is only recorded: these tests place leaders by hand.
        if (isolated) {
          stub.isolations.push(call.request);
          return;
        }
        stub.declines.push(call.request);
        const found = stub.find(topicId, partition);
        if (found !== undefined && found.info.leader === brokerId) {
          stub.elect(found.topic.name!, partition, brokerId).catch(() => undefined);
        }
      },
    });
    return stub;
  }

  metadata(): ClusterMetadata {
    const brokers = new Map<number, { id: number; address: string; alive: boolean; rack: string }>();
    for (const r of this.registrations) brokers.set(r.brokerId, { id: r.brokerId, address: r.address, alive: !this.stopped.has(r.brokerId), rack: r.rack });
    for (const b of this.extraBrokers) brokers.set(b.id, b);
    return { version: this.version, clusterId: STUB_CLUSTER_ID, brokers: [...brokers.values()].sort((a, b) => a.id - b.id), topics: this.topics };
  }

  addBroker(id: number, address: string): void {
    this.extraBrokers.push({ id, address, alive: true, rack: '' });
    this.version++;
  }

  /**
   * Replaces the topics, calls PrepareEpoch on every registered leader named at an epoch not yet
   * prepared for its partition, then pushes the new snapshot.
   */
  async setTopics(topics: TopicInfo[], options: { push?: boolean } = {}): Promise<void> {
    this.topics = [...topics].sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1));
    for (const t of this.topics) {
      for (const info of t.partitions ?? []) {
        const leader = info.leader ?? -1;
        const epoch = info.leaderEpoch ?? 0;
        if (leader < 0 || this.addressOf(leader) === undefined) continue;
        if ((this.prepared.get(partKey(t.topicId!, info.partition!)) ?? 0) >= epoch) continue;
        await this.prepare(leader, t, info, epoch).catch(() => undefined);
      }
    }
    if (options.push !== false) this.push();
  }

  /** Pushes the current snapshot (new version) to every watcher. */
  push(): void {
    this.version++;
    const md = this.metadata();
    for (const w of this.watchers) w.write(md);
  }

  /** Marks a broker dead in the metadata (does not push). */
  markStopped(brokerId: number): void {
    this.stopped.add(brokerId);
  }

  /**
   * Leader election as the coordinator does it: epoch + 1, PrepareEpoch on `voters` (default: every
   * registered replica), then `leader` at that epoch is pushed. Returns the answers.
   */
  async elect(topicName: string, partition: number, leader: number | { mostCompleteOf: number[] }, voters?: number[]): Promise<Array<PrepareEpochResponse__Output | Error>> {
    const t = this.topics.find((x) => x.name === topicName);
    const info = t?.partitions?.find((p) => p.partition === partition);
    if (t === undefined || info === undefined) throw new Error(`no ${topicName}/${partition}`);
    const epoch = Math.max(info.leaderEpoch ?? 0, this.prepared.get(partKey(t.topicId!, partition)) ?? 0) + 1;
    const who = voters ?? (info.replicas ?? []).filter((b) => this.addressOf(b) !== undefined && !this.stopped.has(b));
    const answers = await Promise.all(who.map((b) => this.prepare(b, t, info, epoch).catch((e: Error) => e)));
    if (typeof leader !== 'number') {
      // As the real coordinator: of the candidates, the promise with the greatest (last epoch, log end) leads.
      let best: { replicaId: number; lastEpoch: number; logEndOffset: number } | undefined;
      for (const a of answers) {
        const p = a instanceof Error ? undefined : a.promise;
        if (p === null || p === undefined || !leader.mostCompleteOf.includes(p.replicaId)) continue;
        const lastEpoch = Number(p.lastEpoch);
        const logEndOffset = Number(p.logEndOffset);
        if (best === undefined || lastEpoch > best.lastEpoch || (lastEpoch === best.lastEpoch && logEndOffset > best.logEndOffset)) {
          best = { replicaId: p.replicaId, lastEpoch, logEndOffset };
        }
      }
      if (best === undefined) throw new Error(`no voter of ${topicName}/${partition} promised epoch ${epoch}`);
      leader = best.replicaId;
    }
    info.leader = leader;
    info.leaderEpoch = epoch;
    info.state = 'PARTITION_STATE_ONLINE';
    this.push();
    return answers;
  }

  /** Calls PrepareEpoch(epoch) of one partition on one broker. */
  prepare(brokerId: number, t: TopicInfo, info: PartitionInfo, epoch: number, deadlineMs = 5_000): Promise<PrepareEpochResponse__Output> {
    const client = this.replicationClient(brokerId);
    const key = partKey(t.topicId!, info.partition!);
    this.prepared.set(key, Math.max(this.prepared.get(key) ?? 0, epoch));
    const by = `${brokerId}/${this.incarnationOf(brokerId)}/${epoch}`;
    return new Promise((resolve, reject) => {
      client.PrepareEpoch(
        { topicId: t.topicId!, topic: t.name!, partition: info.partition!, epoch, replicas: info.replicas ?? [], clusterId: STUB_CLUSTER_ID },
        { deadline: new Date(Date.now() + deadlineMs) },
        (err, res) => {
          if (err !== null || res === undefined) {
            reject(err ?? new Error('empty'));
            return;
          }
          if (res.promise !== null && res.promise !== undefined) this.preparedBy.set(key, by);
          resolve(res);
        },
      );
    });
  }

  replicationClient(brokerId: number): ReplicationClient {
    const address = this.addressOf(brokerId);
    if (address === undefined) throw new Error(`broker ${brokerId} is not registered`);
    let client = this.clients.get(address);
    if (client === undefined) {
      const Replication = runnelGrpc().runnel.v1.Replication;
      client = new Replication(address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
      this.clients.set(address, client);
    }
    return client;
  }

  find(topicId: string, partition: number): { topic: TopicInfo; info: PartitionInfo } | undefined {
    const topic = this.topics.find((x) => x.topicId === topicId);
    const info = topic?.partitions?.find((p) => p.partition === partition);
    return topic === undefined || info === undefined ? undefined : { topic, info };
  }

  private incarnationOf(brokerId: number): string | undefined {
    let incarnation: string | undefined;
    for (const r of this.registrations) if (r.brokerId === brokerId) incarnation = r.incarnation;
    return incarnation;
  }

  private addressOf(brokerId: number): string | undefined {
    let address: string | undefined;
    for (const r of this.registrations) if (r.brokerId === brokerId) address = r.address;
    return address;
  }

  private async prepareLeadershipsOf(brokerId: number): Promise<void> {
    for (const t of this.topics) {
      for (const info of t.partitions ?? []) {
        if (info.leader !== brokerId) continue;
        const key = partKey(t.topicId!, info.partition!);
        if (this.preparedBy.get(key) === `${brokerId}/${this.incarnationOf(brokerId)}/${info.leaderEpoch}`) continue;
        const prepared = this.prepared.get(key);
        if (prepared !== undefined && prepared >= (info.leaderEpoch ?? 0)) info.leaderEpoch = prepared + 1;
        await this.prepare(brokerId, t, info, info.leaderEpoch ?? 1).catch(() => undefined);
      }
    }
  }

  private async moveLeadershipsAway(brokerId: number): Promise<number> {
    let remaining = 0;
    for (const t of this.topics) {
      for (const info of t.partitions ?? []) {
        if (info.leader !== brokerId) continue;
        const others = (info.replicas ?? []).filter((b) => b !== brokerId && this.addressOf(b) !== undefined && !this.stopped.has(b));
        if (others.length === 0) {
          remaining++;
          continue;
        }
        const voters = (info.replicas ?? []).filter((b) => this.addressOf(b) !== undefined && !this.stopped.has(b));
        // The shutting-down broker is fenced with the others but is no candidate.
        await this.elect(t.name!, info.partition!, { mostCompleteOf: others }, voters);
      }
    }
    return remaining;
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
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.server.forceShutdown();
  }
}

const partKey = (topicId: string, partition: number): string => `${topicId}/${partition}`;

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
  await coordinator.setTopics(topics);
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

/** Broker `id` (1-based) of a test cluster, started on 127.0.0.1:0 over `dataDir`. */
export async function startClusterBroker(id: number, dataDir: string, coordinator: StubCoordinator, options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const config = parseBrokerConfig({ id, dataDir, port: 0, coordinator: coordinator.address, fsync: 'always', logLevel: 'silent', retentionCheckIntervalMs: 60_000 });
  return startBroker(config, silentLogger, options);
}

/** Sets `runnel-forward: false` on every call, so these tests see NOT_LEADER rather than forwarding. */
const noForwarding: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
  start: (metadata, listener, next) => {
    metadata.set('runnel-forward', 'false');
    next(metadata, listener);
  },
});

export function brokerClient(address: string, options: { forward?: boolean } = {}): BrokerClient {
  const Broker = runnelGrpc().runnel.v1.Broker;
  return new Broker(address, grpc.credentials.createInsecure(), { ...GRPC_CHANNEL_OPTIONS, ...(options.forward === true ? {} : { interceptors: [noForwarding] }) });
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
