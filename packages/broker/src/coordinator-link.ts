import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  BROKER_ID_HEADER, BROKER_INCARNATION_HEADER, GRPC_CHANNEL_OPTIONS, RunnelError, fromServiceError, runnelGrpc, dialAddress,
} from '@runnel/protocol';
import type {
  BrokerHeartbeat, ClusterMetadata__Output, CoordinatorClient, HeartbeatAck__Output, LeaderPartitionStatus, RegisterBrokerResponse__Output,
} from '@runnel/protocol';
import { Backoff } from './backoff.js';
import {
  COORDINATOR_BACKOFF_MS_MAX, COORDINATOR_BACKOFF_MS_MIN, COORDINATOR_CALL_TIMEOUT_MS, COORDINATOR_NOTIFY_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_MS_DEFAULT, PARTITION_STATUS_REFRESH_MS,
} from './constants.js';

export interface CoordinatorLinkOptions {
  /** host:port of the coordinator. */
  readonly coordinatorAddress: string;
  readonly brokerId: number;
  /** host:port this broker registers under. */
  readonly advertisedAddress: string;
  readonly rack: string | undefined;
  readonly logger: Logger;
  /** Every metadata snapshot received (from registration and the watch), in arrival order. */
  readonly onMetadata: (snapshot: ClusterMetadata__Output) => void;
  /** Statuses of the partitions this broker leads (sent with heartbeats when they change, else every 5 s). */
  readonly leaderStatuses?: () => LeaderPartitionStatus[];
}

/**
 * This broker's connection to the coordinator: RegisterBroker (with a random incarnation per
 * process), then a Heartbeat stream sent every heartbeat_interval_ms and a WatchMetadata stream.
 * A heartbeat stream that fails (coordinator gone, UNKNOWN_BROKER after a coordinator restart)
 * leads to re-registration; a watch that fails is reopened; both with bounded exponential backoff,
 * retried until close(). While the coordinator is away the broker keeps serving what it has.
 *
 * Heartbeats carry `partitions` (LeaderPartitionStatus of every partition led here) when the list
 * differs from the one last sent on this stream, and at least every PARTITION_STATUS_REFRESH_MS;
 * a heartbeat with an empty list means "unchanged since the last report", not "leads nothing".
 */
export class CoordinatorLink {
  readonly incarnation = randomUUID();
  private readonly client: CoordinatorClient;
  private readonly logger: Logger;
  private closed = false;
  private heartbeatIntervalMs = HEARTBEAT_INTERVAL_MS_DEFAULT;
  private heartbeatCall: grpc.ClientDuplexStream<BrokerHeartbeat, HeartbeatAck__Output> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private watchCall: grpc.ClientReadableStream<ClusterMetadata__Output> | undefined;
  private registerCall: grpc.ClientUnaryCall | undefined;
  /** Backoff sleeps in progress; close() ends them early. */
  private readonly retryTimers = new Map<NodeJS.Timeout, () => void>();
  private readonly registerBackoff = new Backoff(COORDINATOR_BACKOFF_MS_MIN, COORDINATOR_BACKOFF_MS_MAX);
  private readonly watchBackoff = new Backoff(COORDINATOR_BACKOFF_MS_MIN, COORDINATOR_BACKOFF_MS_MAX);
  private registered = false;

  constructor(private readonly options: CoordinatorLinkOptions) {
    this.logger = options.logger;
    const Coordinator = runnelGrpc().runnel.v1.Coordinator;
    this.client = new Coordinator(dialAddress(options.coordinatorAddress), grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  /** Registers (retrying until it succeeds), then starts heartbeats and the metadata watch. */
  async start(): Promise<void> {
    await this.registerUntilDone();
    this.startHeartbeat();
    this.startWatch();
  }

  private async registerUntilDone(): Promise<void> {
    for (;;) {
      if (this.closed) throw new RunnelError('SHUTTING_DOWN', 'closed before registering with the coordinator');
      try {
        const response = await this.registerOnce();
        this.registered = true;
        this.heartbeatIntervalMs = response.heartbeatIntervalMs > 0 ? response.heartbeatIntervalMs : HEARTBEAT_INTERVAL_MS_DEFAULT;
        this.logger.info(
          { coordinator: this.options.coordinatorAddress, incarnation: this.incarnation, heartbeatIntervalMs: this.heartbeatIntervalMs, sessionTimeoutMs: response.sessionTimeoutMs },
          'registered with coordinator',
        );
        if (response.metadata !== null && response.metadata !== undefined) this.options.onMetadata(response.metadata);
        return;
      } catch (err) {
        if (this.closed) throw new RunnelError('SHUTTING_DOWN', 'closed before registering with the coordinator');
        const delayMs = this.registerBackoff.nextDelayMs();
        const error = fromServiceError(err);
        this.logger.warn({ code: error.code, reason: error.message, delayMs, coordinator: this.options.coordinatorAddress }, 'registering with coordinator failed; retrying');
        await this.delay(delayMs);
      }
    }
  }

  private registerOnce(): Promise<RegisterBrokerResponse__Output> {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + COORDINATOR_CALL_TIMEOUT_MS);
      this.registerCall = this.client.RegisterBroker(
        { brokerId: this.options.brokerId, address: this.options.advertisedAddress, rack: this.options.rack ?? '', incarnation: this.incarnation },
        { deadline },
        (err, response) => {
          this.registerCall = undefined;
          if (err !== null || response === undefined) reject(err ?? new Error('empty RegisterBroker response'));
          else resolve(response);
        },
      );
    });
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        resolve();
      }, ms);
      this.retryTimers.set(timer, resolve);
    });
  }

  private startHeartbeat(): void {
    if (this.closed) return;
    const call = this.client.Heartbeat();
    this.heartbeatCall = call;
    let lastKey: string | undefined;
    let lastFullMs = 0;
    const beat = (): void => {
      const statuses = this.options.leaderStatuses?.() ?? [];
      const key = JSON.stringify(statuses);
      const nowMs = Date.now();
      let partitions: LeaderPartitionStatus[] = [];
      if (key !== lastKey || nowMs - lastFullMs >= PARTITION_STATUS_REFRESH_MS) {
        partitions = statuses;
        lastKey = key;
        lastFullMs = nowMs;
      }
      call.write({ brokerId: this.options.brokerId, incarnation: this.incarnation, partitions });
    };
    let failed = false;
    let acked = false;
    const onFailure = (err: unknown): void => {
      if (failed || this.heartbeatCall !== call) return;
      failed = true;
      this.stopHeartbeat();
      if (this.closed) return;
      const error = err === undefined ? undefined : fromServiceError(err);
      // A stream that never got an ack is failing fast: back off before registering again.
      const delayMs = acked ? 0 : this.registerBackoff.nextDelayMs();
      this.logger.warn({ code: error?.code ?? 'STREAM_ENDED', reason: error?.message, delayMs }, 'heartbeat stream failed; registering again');
      this.registered = false;
      this.delay(delayMs).then(() => this.registerUntilDone()).then(
        () => this.startHeartbeat(),
        (e: unknown) => {
          if (!this.closed) this.logger.error({ err: e }, 're-registering failed');
        },
      );
    };
    call.on('data', (_ack: HeartbeatAck__Output) => {
      if (acked) return;
      acked = true;
      this.registerBackoff.reset();
    });
    call.on('error', onFailure);
    call.on('end', () => onFailure(undefined));
    beat();
    this.heartbeatTimer = setInterval(beat, this.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    const call = this.heartbeatCall;
    this.heartbeatCall = undefined;
    call?.cancel();
  }

  private startWatch(): void {
    if (this.closed) return;
    const call = this.client.WatchMetadata({});
    this.watchCall = call;
    let failed = false;
    call.on('data', (snapshot: ClusterMetadata__Output) => {
      this.watchBackoff.reset();
      this.options.onMetadata(snapshot);
    });
    const onFailure = (err: unknown): void => {
      if (failed || this.watchCall !== call) return;
      failed = true;
      this.watchCall = undefined;
      if (this.closed) return;
      const delayMs = this.watchBackoff.nextDelayMs();
      const error = err === undefined ? undefined : fromServiceError(err);
      this.logger.warn({ code: error?.code ?? 'STREAM_ENDED', reason: error?.message, delayMs }, 'metadata watch failed; reopening');
      this.delay(delayMs).then(() => this.startWatch(), () => undefined);
    };
    call.on('error', onFailure);
    call.on('end', () => onFailure(undefined));
  }

  /**
   * Asks the coordinator to move this broker's leaderships away. Resolves with the leaderships
   * still held, or 'unsupported' when the coordinator does not implement the call.
   */
  controlledShutdown(): Promise<number | 'unsupported'> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new RunnelError('SHUTTING_DOWN', 'coordinator link closed'));
        return;
      }
      this.client.ControlledShutdown(
        { brokerId: this.options.brokerId, incarnation: this.incarnation },
        { deadline: new Date(Date.now() + COORDINATOR_NOTIFY_TIMEOUT_MS) },
        (err, response) => {
          if (err !== null && err.code === grpc.status.UNIMPLEMENTED) resolve('unsupported');
          else if (err !== null || response === undefined) reject(fromServiceError(err ?? new Error('empty ControlledShutdown response')));
          else resolve(response.leadershipsRemaining);
        },
      );
    });
  }

  /**
   * Tells the coordinator this broker declined to lead `epoch` of a partition (it elects again), or,
   * `isolated`, that it leads it without hearing a majority of its replicas (it may move it). Errors are logged.
   */
  declineLeadership(topicId: string, partition: number, epoch: number, isolated = false): void {
    if (this.closed) return;
    this.client.DeclineLeadership(
      { brokerId: this.options.brokerId, incarnation: this.incarnation, topicId, partition, epoch, isolated },
      { deadline: new Date(Date.now() + COORDINATOR_NOTIFY_TIMEOUT_MS) },
      (err) => {
        if (err !== null) this.logger.warn({ code: fromServiceError(err).code, topicId, partition, epoch }, 'DeclineLeadership failed; the coordinator re-elects on its own timeout');
      },
    );
  }

  /** Creates an internal topic (`__offsets`): default replication factor, no retention; TOPIC_ALREADY_EXISTS counts as done. */
  createInternalTopic(name: string, partitions: number): Promise<void> {
    if (this.closed) return Promise.reject(new RunnelError('SHUTTING_DOWN', 'the broker is shutting down'));
    // Only a registered broker may create an internal topic: it proves it is one with the
    // incarnation it registered with (never published, so a client cannot name it).
    const identity = new grpc.Metadata();
    identity.set(BROKER_ID_HEADER, String(this.options.brokerId));
    identity.set(BROKER_INCARNATION_HEADER, this.incarnation);
    return new Promise((resolve, reject) => {
      this.client.CreateTopic(
        // Kept forever: a group's last commit must outlive any quiet spell (no compaction yet).
        { name, partitions, replicationFactor: 0, internal: true, config: { retentionMs: -1 } },
        identity,
        { deadline: new Date(Date.now() + COORDINATOR_CALL_TIMEOUT_MS) },
        (err) => {
          if (err === null) {
            this.logger.info({ topic: name, partitions }, 'internal topic created');
            resolve();
            return;
          }
          const error = fromServiceError(err);
          if (error.code === 'TOPIC_ALREADY_EXISTS') resolve();
          else if (error.code === 'UNREACHABLE' || error.code === 'TIMEOUT') reject(new RunnelError('COORDINATOR_UNAVAILABLE', `creating ${name}: ${error.message}`));
          else reject(error);
        },
      );
    });
  }

  /** Cancels every stream and timer and closes the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    const watch = this.watchCall;
    this.watchCall = undefined;
    watch?.cancel();
    this.registerCall?.cancel();
    for (const [timer, resolve] of this.retryTimers) {
      clearTimeout(timer);
      resolve();
    }
    this.retryTimers.clear();
    this.client.close();
  }
}
