import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fromServiceError, runnelGrpc, startGrpcServer } from '@runnel/protocol';
import type {
  BrokerHeartbeat, ClusterMetadata__Output, CoordinatorClient, HeartbeatAck__Output, PrepareEpochRequest__Output,
  PrepareEpochResponse, RegisterBrokerResponse__Output, RunnelError,
} from '@runnel/protocol';
import { pino } from 'pino';
import type { Logger } from 'pino';

export const silentLog: Logger = pino({ level: 'silent' });

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-coordinator-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves once `condition()` is truthy; rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, condition: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await condition();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function coordinatorClient(address: string): CoordinatorClient {
  return new (runnelGrpc().runnel.v1.Coordinator)(address, grpc.credentials.createInsecure());
}

/** Promisified unary call; rejects with a RunnelError rebuilt from the status and trailers. */
export function call<Req, Res>(
  fn: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => {
      if (err) reject(fromServiceError(err));
      else resolve(res as Res);
    });
  });
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<RunnelError> {
  try {
    await p;
  } catch (err) {
    const e = err as RunnelError;
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/**
 * A broker's Replication.PrepareEpoch as the coordinator's elections see it, over real gRPC on
 * loopback: promises every epoch above the last one it promised per partition (with an empty log),
 * rejects the rest. Records every epoch it promised.
 */
export class Promiser {
  readonly promised: Array<{ topicId: string; partition: number; epoch: number }> = [];
  private readonly highest = new Map<string, number>();

  private constructor(
    readonly brokerId: number,
    readonly address: string,
    private readonly stop: () => Promise<void>,
  ) {}

  static async start(brokerId: number): Promise<Promiser> {
    let self: Promiser | undefined;
    const server = await startGrpcServer('127.0.0.1', 0, [{
      name: 'runnel.v1.Replication',
      definition: runnelGrpc().runnel.v1.Replication.service,
      implementation: {
        Replicate: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
        PrepareEpoch: (call: grpc.ServerUnaryCall<PrepareEpochRequest__Output, PrepareEpochResponse>, cb: grpc.sendUnaryData<PrepareEpochResponse>) => {
          cb(null, self?.answer(call.request) ?? {});
        },
      },
    }]);
    server.setServing(true);
    self = new Promiser(brokerId, `127.0.0.1:${server.port}`, () => server.shutdown(0));
    return self;
  }

  private answer(req: PrepareEpochRequest__Output): PrepareEpochResponse {
    const key = `${req.topicId}/${req.partition}`;
    const highest = this.highest.get(key) ?? 0;
    if (req.epoch < highest) return { rejected: { epoch: req.epoch, replicaId: this.brokerId, promisedEpoch: highest } };
    this.highest.set(key, req.epoch);
    this.promised.push({ topicId: req.topicId, partition: req.partition, epoch: req.epoch });
    return { promise: { epoch: req.epoch, replicaId: this.brokerId, lastEpoch: 0, logEndOffset: 0 } };
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** A broker as far as the coordinator can tell: registers, heartbeats on a stream. */
export class FakeBroker {
  readonly acks: HeartbeatAck__Output[] = [];
  streamError: grpc.ServiceError | undefined;
  streamDone = false;
  private stream: grpc.ClientDuplexStream<BrokerHeartbeat, HeartbeatAck__Output> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly client: CoordinatorClient,
    readonly id: number,
    readonly address = `127.0.0.1:${9000 + id}`,
    readonly rack = '',
    public incarnation: string = randomUUID(),
  ) {}

  register(): Promise<RegisterBrokerResponse__Output> {
    return call(this.client.registerBroker.bind(this.client), { brokerId: this.id, address: this.address, rack: this.rack, incarnation: this.incarnation });
  }

  /** Opens a heartbeat stream and sends one heartbeat now and then every `intervalMs`. */
  startHeartbeats(intervalMs: number): void {
    const stream = this.client.heartbeat();
    this.stream = stream;
    this.streamError = undefined;
    this.streamDone = false;
    stream.on('data', (ack: HeartbeatAck__Output) => this.acks.push(ack));
    stream.on('error', (err: grpc.ServiceError) => {
      this.streamError = err;
      this.stopTimer();
    });
    stream.on('end', () => {
      this.streamDone = true;
    });
    const beat = (): void => {
      stream.write({ brokerId: this.id, incarnation: this.incarnation });
    };
    beat();
    this.timer = setInterval(beat, intervalMs);
  }

  /** Stops sending heartbeats but keeps the stream open (a hung broker). */
  stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Half-closes the stream (a clean end). */
  endStream(): void {
    this.stopTimer();
    this.stream?.end();
  }

  /** Cancels the stream (a crash as seen by the coordinator). */
  cancelStream(): void {
    this.stopTimer();
    this.stream?.cancel();
  }

  close(): void {
    this.cancelStream();
  }
}

/** Collects WatchMetadata snapshots. */
export class Watcher {
  readonly snapshots: ClusterMetadata__Output[] = [];
  readonly stream: grpc.ClientReadableStream<ClusterMetadata__Output>;
  ended = false;

  constructor(client: CoordinatorClient) {
    this.stream = client.watchMetadata({});
    this.stream.on('data', (m: ClusterMetadata__Output) => this.snapshots.push(m));
    this.stream.on('error', () => {
      this.ended = true;
    });
    this.stream.on('end', () => {
      this.ended = true;
    });
  }

  get latest(): ClusterMetadata__Output | undefined {
    return this.snapshots.at(-1);
  }

  waitFor(what: string, pred: (m: ClusterMetadata__Output) => boolean, timeoutMs = 5000): Promise<ClusterMetadata__Output> {
    return waitFor(what, () => {
      const m = this.latest;
      return m !== undefined && pred(m) ? m : undefined;
    }, timeoutMs);
  }

  cancel(): void {
    this.stream.cancel();
  }
}
