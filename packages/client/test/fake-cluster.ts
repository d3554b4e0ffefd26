/**
 * A stub Runnel peer for client tests: a real gRPC coordinator and real gRPC brokers on
 * 127.0.0.1 (port 0), implementing the public services from the proto definitions, with a shared
 * in-memory log per partition and knobs to inject failures. Not a mock of gRPC.
 */
import * as grpc from '@grpc/grpc-js';
import {
  NotLeaderError, RunnelError, brokerServerDefinition, messageType, runnelGrpc, toErrorMessage, toGrpcStatus,
  type ClusterMetadata, type ProduceRequest__Output, type ProduceStreamRequest__Output, type ProduceStreamResponse,
  type Record__Output, type SubscribeRequest__Output, type TopicInfo,
} from '@runnel/protocol';

export interface StoredBatch {
  baseOffset: number;
  recordCount: number;
  encoded: Uint8Array;
  control: boolean;
}

export interface SubscriptionStats {
  brokerId: number;
  start: SubscribeRequest__Output['start'];
  grantedBytes: number;
  grantedRecords: number;
  pushedBytes: number;
  pushedRecords: number;
  pushedBatches: number;
  /** Largest (granted - pushed) deficit before a push was made: must be > 0 for every push. */
  violations: number;
}

export interface HeldProduce {
  correlationId: number;
  request: ProduceRequest__Output;
  answer(): void;
}

export async function waitFor(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function key(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function encodeBatch(baseOffset: number, records: Array<Partial<Record__Output>>, opts: { control?: boolean; leaderEpoch?: number } = {}): Uint8Array {
  const type = messageType('Batch');
  const msg = type.fromObject({
    baseOffset,
    recordCount: records.length,
    leaderEpoch: opts.leaderEpoch ?? 1,
    maxTimestampMs: Math.max(0, ...records.map((r) => r.timestampMs ?? 0)),
    attributes: opts.control ? 1 : 0,
    records: { records: records.map((r) => ({ key: r.key ?? Buffer.alloc(0), value: r.value ?? Buffer.alloc(0), headers: r.headers ?? {}, timestampMs: r.timestampMs ?? 0 })) },
  });
  return type.encode(msg).finish();
}

export class FakeBroker {
  server = new grpc.Server();
  address = '';
  /** Produce requests answered with this error (in-stream), if set. */
  produceError: ((req: ProduceRequest__Output) => RunnelError | undefined) | undefined;
  /** Hold produce answers until the test releases them. */
  holdProduce = false;
  held: HeldProduce[] = [];
  maxInFlight = 0;
  outstandingMax = 0;
  private outstanding = 0;
  produceRequests = 0;
  /** Claim not to lead anything; NOT_LEADER names this hint. */
  notLeader: { id: number; address: string } | undefined;
  /** Fail each Subscribe stream after pushing this many batches. */
  subscribeFailAfterBatches: number | undefined;
  subscribeFailWith: (() => RunnelError) | undefined;
  listOffsetsCalls = 0;

  constructor(readonly id: number, private readonly cluster: FakeCluster) {}

  async start(): Promise<void> {
    const impl: grpc.UntypedServiceImplementation = {
      Produce: (call: grpc.ServerUnaryCall<ProduceRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const err = this.check(call.request.topic, call.request.partition ?? 0) ?? this.produceError?.(call.request);
        if (err) return cb(toGrpcStatus(err));
        cb(null, this.append(call.request));
      },
      ProduceStream: (call: grpc.ServerDuplexStream<ProduceStreamRequest__Output, ProduceStreamResponse>) => {
        call.on('data', (msg: ProduceStreamRequest__Output) => {
          this.produceRequests++;
          this.outstanding++;
          this.outstandingMax = Math.max(this.outstandingMax, this.outstanding);
          const req = msg.request;
          const answer = (): void => {
            this.outstanding--;
            if (!req) return;
            const err = this.check(req.topic, req.partition ?? 0) ?? this.produceError?.(req);
            const res: ProduceStreamResponse = err
              ? { correlationId: msg.correlationId, error: toErrorMessage(err), maxInFlight: this.maxInFlight }
              : { correlationId: msg.correlationId, ok: this.append(req), maxInFlight: this.maxInFlight };
            call.write(res);
          };
          if (this.holdProduce) this.held.push({ correlationId: msg.correlationId, request: msg.request as ProduceRequest__Output, answer });
          else answer();
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
      Subscribe: (call: grpc.ServerDuplexStream<SubscribeRequest__Output, unknown>) => this.subscribe(call),
      Fetch: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
      ListOffsets: (call: grpc.ServerUnaryCall<{ topic: string; partitions: number[]; timestampMs?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.listOffsetsCalls++;
        const { topic, partitions } = call.request;
        for (const p of partitions) {
          const err = this.check(topic, p);
          if (err) return cb(toGrpcStatus(err));
        }
        cb(null, {
          topic,
          partitions: partitions.map((p) => {
            const end = this.cluster.endOffset(topic, p);
            return { partition: p, logStartOffset: 0, highWatermark: end, logEndOffset: end, offsetForTimestamp: call.request.timestampMs === undefined ? 0 : Math.min(end, 7), leaderEpoch: 1 };
          }),
        });
      },
      GetMetadata: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, this.cluster.metadata),
    };
    this.server.addService(brokerServerDefinition(), impl);
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    this.address = `127.0.0.1:${port}`;
  }

  private check(topic: string, partition: number): RunnelError | undefined {
    if (this.notLeader) return new NotLeaderError(topic, partition, this.notLeader.id, this.notLeader.address);
    const t = this.cluster.metadata.topics?.find((x) => x.name === topic);
    if (!t) return new RunnelError('UNKNOWN_TOPIC', `unknown topic ${topic}`);
    const p = t.partitions?.find((x) => x.partition === partition);
    if (!p) return new RunnelError('UNKNOWN_PARTITION', `no partition ${partition}`);
    if (p.leader !== this.id) return new NotLeaderError(topic, partition, p.leader, this.cluster.brokers.get(p.leader ?? -1)?.address);
    return undefined;
  }

  private append(req: ProduceRequest__Output): { topic: string; partition: number; baseOffset: number; recordCount: number; leaderEpoch: number; appendTimeMs: number } {
    const partition = req.partition ?? 0;
    const base = this.cluster.append(req.topic, partition, req.records);
    return { topic: req.topic, partition, baseOffset: req.acks === 'ACKS_NONE' ? -1 : base, recordCount: req.records.length, leaderEpoch: 1, appendTimeMs: Date.now() };
  }

  private subscribe(call: grpc.ServerDuplexStream<SubscribeRequest__Output, unknown>): void {
    let stats: SubscriptionStats | undefined;
    let creditBytes = 0;
    let creditRecords = 0;
    let next = 0;
    let topic = '';
    let partition = 0;
    let done = false;
    const push = (): void => {
      if (done || !stats) return;
      const log = this.cluster.log(topic, partition);
      while (creditBytes > 0 && creditRecords > 0) {
        const b = log.find((x) => x.baseOffset + x.recordCount > next);
        if (!b) return;
        if (this.subscribeFailAfterBatches !== undefined && stats.pushedBatches >= this.subscribeFailAfterBatches) {
          done = true;
          const err = this.subscribeFailWith?.() ?? new RunnelError('UNREACHABLE', 'injected stream failure', { retriable: true });
          call.emit('error', toGrpcStatus(err));
          return;
        }
        creditBytes -= b.encoded.length;
        creditRecords -= b.recordCount;
        stats.pushedBytes += b.encoded.length;
        stats.pushedRecords += b.recordCount;
        stats.pushedBatches++;
        next = b.baseOffset + b.recordCount;
        call.write({ batches: [b.encoded], highWatermark: this.cluster.endOffset(topic, partition), startOffset: 0 });
      }
    };
    const listener = (t: string, p: number): void => {
      if (t === topic && p === partition) push();
    };
    call.on('data', (msg: SubscribeRequest__Output) => {
      if (msg.kind === 'start' && msg.start) {
        topic = msg.start.topic;
        partition = msg.start.partition;
        const err = this.check(topic, partition);
        if (err) {
          done = true;
          call.emit('error', toGrpcStatus(err));
          return;
        }
        const pos = msg.start.position;
        const end = this.cluster.endOffset(topic, partition);
        if (pos?.at === 'offset') {
          if ((pos.offset ?? 0) > end) {
            done = true;
            call.emit('error', toGrpcStatus(new RunnelError('OFFSET_OUT_OF_RANGE', `offset ${pos.offset} is outside [0, ${end}]`)));
            return;
          }
          next = pos.offset ?? 0;
        } else if (pos?.at === 'latest') next = end;
        else next = 0;
        creditBytes = msg.start.credit?.bytes ?? 0;
        creditRecords = msg.start.credit?.records ?? 0;
        stats = { brokerId: this.id, start: msg.start, grantedBytes: creditBytes, grantedRecords: creditRecords, pushedBytes: 0, pushedRecords: 0, pushedBatches: 0, violations: 0 };
        this.cluster.subscriptions.push(stats);
        this.cluster.appendListeners.add(listener);
        call.write({ batches: [], highWatermark: end, startOffset: next });
        push();
      } else if (msg.kind === 'credit' && msg.credit && stats) {
        creditBytes += msg.credit.bytes;
        creditRecords += msg.credit.records;
        stats.grantedBytes += msg.credit.bytes;
        stats.grantedRecords += msg.credit.records;
        this.cluster.onCredit?.(stats);
        push();
      }
    });
    const stop = (): void => {
      done = true;
      this.cluster.appendListeners.delete(listener);
    };
    call.on('end', () => {
      stop();
      call.end();
    });
    call.on('error', stop);
    call.on('cancelled', stop);
  }

  releaseHeld(order: 'fifo' | 'reverse' = 'fifo'): void {
    const list = this.held.splice(0);
    if (order === 'reverse') list.reverse();
    for (const h of list) h.answer();
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

export class FakeCluster {
  coordinator = new grpc.Server();
  bootstrap = '';
  brokers = new Map<number, FakeBroker>();
  metadata: ClusterMetadata = { version: 1, brokers: [], topics: [], clusterId: 'fake' };
  private readonly logs = new Map<string, StoredBatch[]>();
  readonly appendListeners = new Set<(topic: string, partition: number) => void>();
  readonly subscriptions: SubscriptionStats[] = [];
  onCredit: ((s: SubscriptionStats) => void) | undefined;
  private readonly watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  describeClusterCalls = 0;
  coordinatorDown = false;

  static async start(brokerCount: number): Promise<FakeCluster> {
    const c = new FakeCluster();
    for (let id = 1; id <= brokerCount; id++) {
      const b = new FakeBroker(id, c);
      await b.start();
      c.brokers.set(id, b);
    }
    c.metadata.brokers = [...c.brokers.values()].map((b) => ({ id: b.id, address: b.address, alive: true, rack: '' }));
    await c.startCoordinator();
    return c;
  }

  broker(id: number): FakeBroker {
    const b = this.brokers.get(id);
    if (!b) throw new Error(`no broker ${id}`);
    return b;
  }

  private async startCoordinator(): Promise<void> {
    const unavailable = { code: grpc.status.UNAVAILABLE, details: 'coordinator down (test)' };
    const impl: grpc.UntypedServiceImplementation = {
      DescribeCluster: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => {
        this.describeClusterCalls++;
        if (this.coordinatorDown) return cb(unavailable);
        cb(null, this.metadata);
      },
      WatchMetadata: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write(this.metadata);
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
      },
      CreateTopic: (call: grpc.ServerUnaryCall<{ name: string; partitions: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const { name, partitions } = call.request;
        if (this.metadata.topics?.some((t) => t.name === name)) return cb(toGrpcStatus(new RunnelError('TOPIC_ALREADY_EXISTS', `topic ${name} exists`)));
        const t = this.addTopic(name, partitions);
        cb(null, t);
      },
      DeleteTopic: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.setMetadata({ ...this.metadata, topics: (this.metadata.topics ?? []).filter((t) => t.name !== call.request.name) });
        cb(null, {});
      },
      ListTopics: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { topics: this.metadata.topics }),
      DescribeTopic: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const t = this.metadata.topics?.find((x) => x.name === call.request.name);
        if (!t) return cb(toGrpcStatus(new RunnelError('UNKNOWN_TOPIC', `unknown topic ${call.request.name}`)));
        cb(null, t);
      },
      RegisterBroker: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
      Heartbeat: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.emit('error', { code: grpc.status.UNIMPLEMENTED }),
    };
    this.coordinator.addService(runnelGrpc().runnel.v1.Coordinator.service, impl);
    const port = await new Promise<number>((resolve, reject) =>
      this.coordinator.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    this.bootstrap = `127.0.0.1:${port}`;
  }

  /** Adds a topic; partition i is led by broker leaders[i] (default: round robin). */
  addTopic(name: string, partitions: number, leaders?: number[], config: { maxMessageBytes?: number } = {}): TopicInfo {
    const ids = [...this.brokers.keys()];
    const t: TopicInfo = {
      name,
      replicationFactor: 1,
      topicId: `${name}-id`,
      config: { retentionMs: -1, retentionBytes: -1, maxMessageBytes: config.maxMessageBytes ?? 1024 * 1024, cleanupPolicy: 'CLEANUP_POLICY_DELETE' },
      partitions: Array.from({ length: partitions }, (_, i) => {
        const leader = leaders?.[i] ?? ids[i % ids.length] ?? -1;
        return { partition: i, leader, replicas: [leader], leaderEpoch: 1, state: leader < 0 ? 'PARTITION_STATE_OFFLINE' : 'PARTITION_STATE_ONLINE' };
      }),
    };
    this.setMetadata({ ...this.metadata, topics: [...(this.metadata.topics ?? []).filter((x) => x.name !== name), t] });
    return t;
  }

  setLeader(topic: string, partition: number, leader: number): void {
    const topics = (this.metadata.topics ?? []).map((t) => t.name !== topic ? t : {
      ...t,
      partitions: (t.partitions ?? []).map((p) => p.partition !== partition ? p : { ...p, leader, leaderEpoch: (p.leaderEpoch ?? 0) + 1, state: leader < 0 ? 'PARTITION_STATE_OFFLINE' as const : 'PARTITION_STATE_ONLINE' as const }),
    });
    this.setMetadata({ ...this.metadata, topics });
  }

  setMetadata(md: ClusterMetadata): void {
    this.metadata = { ...md, version: Number(this.metadata.version ?? 0) + 1 };
    for (const w of this.watchers) w.write(this.metadata);
  }

  log(topic: string, partition: number): StoredBatch[] {
    let l = this.logs.get(key(topic, partition));
    if (!l) {
      l = [];
      this.logs.set(key(topic, partition), l);
    }
    return l;
  }

  endOffset(topic: string, partition: number): number {
    const l = this.log(topic, partition);
    const last = l[l.length - 1];
    return last ? last.baseOffset + last.recordCount : 0;
  }

  append(topic: string, partition: number, records: Array<Partial<Record__Output>>, opts: { control?: boolean } = {}): number {
    const base = this.endOffset(topic, partition);
    const encoded = encodeBatch(base, records, opts);
    this.log(topic, partition).push({ baseOffset: base, recordCount: records.length, encoded, control: opts.control ?? false });
    for (const l of [...this.appendListeners]) l(topic, partition);
    return base;
  }

  /** Every record value of a partition, in offset order (control batches excluded). */
  values(topic: string, partition: number): string[] {
    const type = messageType('Batch');
    const out: string[] = [];
    for (const b of this.log(topic, partition)) {
      if (b.control) continue;
      const obj = type.toObject(type.decode(b.encoded), { bytes: Buffer, defaults: true, arrays: true, longs: Number }) as { records: { records: Array<{ value: Buffer }> } };
      for (const r of obj.records.records) out.push(r.value.toString());
    }
    return out;
  }

  stop(): void {
    for (const w of this.watchers) w.end();
    this.coordinator.forceShutdown();
    for (const b of this.brokers.values()) b.stop();
  }
}
