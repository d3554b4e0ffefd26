import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import { normaliseError, RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { BrokerHeartbeat__Output, HeartbeatAck, RegisterBrokerResponse } from '@runnel/protocol';
import type { Logger } from 'pino';
import {
  BROKER_ADDRESS_CHARS_MAX, BROKER_ID_MAX, BROKER_INCARNATION_CHARS_MAX, BROKER_RACK_CHARS_MAX, BROKERS_MAX,
  FAILURE_CHECK_INTERVAL_MS_MIN,
} from './constants.js';
import type { MetadataController } from './metadata-controller.js';
import { toClusterMetadata } from './metadata-snapshot.js';

export type HeartbeatCall = grpc.ServerDuplexStream<BrokerHeartbeat__Output, HeartbeatAck>;

export interface RegisterBrokerInput {
  readonly brokerId: number;
  readonly address: string;
  readonly rack: string;
  readonly incarnation: string;
}

export interface MembershipOptions {
  readonly controller: MetadataController;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly log: Logger;
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number;
  /** The set of brokers awaited after a coordinator restart shrank (the live set the elections see changed). */
  readonly onAwaitingChange?: () => void;
  /** A heartbeat carried the statuses of partitions the broker leads. */
  readonly onLeaderStatus?: (brokerId: number, statuses: BrokerHeartbeat__Output['partitions']) => void;
}

/** A registered broker incarnation this coordinator process has heard from. */
interface Session {
  readonly brokerId: number;
  readonly incarnation: string;
  lastHeardMs: number;
  /** The heartbeat stream currently carrying its heartbeats. */
  stream: HeartbeatCall | undefined;
}

const HOST_PORT = /^\S+:\d{1,5}$/;

/** Checks a RegisterBroker request; INVALID_REQUEST naming the bad field. */
export function validateRegistration(r: RegisterBrokerInput): void {
  if (!Number.isInteger(r.brokerId) || r.brokerId < 1 || r.brokerId > BROKER_ID_MAX) {
    throw new RunnelError('INVALID_REQUEST', `broker_id ${r.brokerId} is invalid: use 1 to ${BROKER_ID_MAX}`);
  }
  if (r.address.length > BROKER_ADDRESS_CHARS_MAX || !HOST_PORT.test(r.address)) {
    throw new RunnelError('INVALID_REQUEST', `address ${JSON.stringify(r.address.slice(0, BROKER_ADDRESS_CHARS_MAX))} is invalid: use HOST:PORT`);
  }
  if (r.rack.length > BROKER_RACK_CHARS_MAX) throw new RunnelError('INVALID_REQUEST', `rack is longer than ${BROKER_RACK_CHARS_MAX} characters`);
  if (r.incarnation.length === 0 || r.incarnation.length > BROKER_INCARNATION_CHARS_MAX) {
    throw new RunnelError('INVALID_REQUEST', `incarnation must be 1 to ${BROKER_INCARNATION_CHARS_MAX} characters`);
  }
}

/**
 * Cluster membership and failure detection.
 *
 * - RegisterBroker makes a broker alive. A new incarnation for a known id is a restart: the old
 *   incarnation is declared dead first, then the new one registers (the election driver sees the new
 *   incarnation and ends the old one's leaderships). The same incarnation again changes nothing.
 * - Heartbeat streams carry `(broker_id, incarnation)`; each is acknowledged with the metadata
 *   version. A heartbeat for an unregistered broker or an old incarnation fails the stream with
 *   UNKNOWN_BROKER (the broker must register again).
 * - A broker whose heartbeat stream ends, or that sends nothing for the session timeout, is declared
 *   dead: one periodic check, O(brokers) per tick.
 * - After a coordinator restart every stored broker starts not-alive and has one session timeout to
 *   register again; until then the elections count it as live, so its leaderships stay in place
 *   (brokers keep serving while the coordinator is away); after it, they are reassigned as for a
 *   dead broker.
 *
 * Leader elections react to the resulting metadata (election-driver.ts); membership only records
 * who is alive.
 *
 * Every decision is taken synchronously, in event order, and queued as a metadata change in that
 * same order, so a death and a re-registration are never applied out of order.
 */
export class Membership {
  private readonly controller: MetadataController;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sessions = new Map<number, Session>();
  /** Brokers alive before a coordinator restart, awaited until the deadline (monotonic ms). */
  private readonly awaiting = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: MembershipOptions) {
    this.controller = opts.controller;
    this.sessionTimeoutMs = opts.sessionTimeoutMs;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs;
    this.log = opts.log;
    this.now = opts.now ?? (() => performance.now());
  }

  /** How often failure detection runs. */
  get checkIntervalMs(): number {
    return Math.max(FAILURE_CHECK_INTERVAL_MS_MIN, Math.min(this.heartbeatIntervalMs, Math.floor(this.sessionTimeoutMs / 10)));
  }

  /**
   * Marks every stored broker not-alive (they must register again with this coordinator process),
   * awaits them for one session timeout, and starts failure detection.
   */
  async start(): Promise<void> {
    const deadline = this.now() + this.sessionTimeoutMs;
    await this.controller.transact((tx) => {
      for (const b of tx.state.brokers.values()) {
        if (!b.alive) continue;
        this.awaiting.set(b.id, deadline);
        tx.apply({ type: 'MarkBrokerDead', brokerId: b.id, incarnation: b.incarnation });
      }
    });
    this.timer = setInterval(() => this.check(), this.checkIntervalMs);
  }

  /** Brokers still awaited after a coordinator restart. */
  awaitingBrokerIds(): ReadonlySet<number> {
    return new Set(this.awaiting.keys());
  }

  /** Whether this coordinator process holds a live session for the broker. */
  hasSession(brokerId: number): boolean {
    return this.sessions.has(brokerId);
  }

  async register(input: RegisterBrokerInput): Promise<RegisterBrokerResponse> {
    if (this.closed) throw new RunnelError('SHUTTING_DOWN', 'the coordinator is shutting down');
    validateRegistration(input);
    const { brokerId, incarnation } = input;
    if (!this.controller.state.brokers.has(brokerId) && this.controller.state.brokers.size >= BROKERS_MAX) {
      throw new RunnelError('INVALID_REQUEST', `the cluster already has the maximum of ${BROKERS_MAX} brokers`);
    }
    const old = this.sessions.get(brokerId);
    const session: Session = old !== undefined && old.incarnation === incarnation
      ? old
      : { brokerId, incarnation, lastHeardMs: 0, stream: undefined };
    session.lastHeardMs = this.now();
    this.sessions.set(brokerId, session);
    if (old !== undefined && old !== session && old.stream !== undefined) {
      this.fail(old.stream, new RunnelError('UNKNOWN_BROKER', `broker ${brokerId} registered again with another incarnation`));
    }
    try {
      await this.controller.transact((tx) => {
        const stored = tx.state.brokers.get(brokerId);
        if (stored !== undefined && stored.incarnation !== incarnation) {
          // A restart: end the old incarnation's leaderships before the new one gets any.
          tx.apply({ type: 'MarkBrokerDead', brokerId, incarnation: stored.incarnation });
        }
        tx.apply({ type: 'RegisterBroker', brokerId, address: input.address, rack: input.rack, incarnation });
      });
    } catch (err) {
      if (this.sessions.get(brokerId) === session) this.sessions.delete(brokerId);
      throw err;
    }
    // Only now: until the registration is applied the elections must still count it as awaited (live),
    // or a metadata change in between would move its leaderships away for nothing.
    this.awaiting.delete(brokerId);
    this.log.info({ brokerId, address: input.address, rack: input.rack, incarnation }, 'broker registered');
    return {
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      sessionTimeoutMs: this.sessionTimeoutMs,
      metadata: toClusterMetadata(this.controller.state),
    };
  }

  /** Serves one Heartbeat stream. */
  heartbeat(call: HeartbeatCall): void {
    let bound: Session | undefined;
    let blocked = false;
    call.on('data', (hb: BrokerHeartbeat__Output) => {
      if (this.closed) {
        this.fail(call, new RunnelError('SHUTTING_DOWN', 'the coordinator is shutting down'));
        return;
      }
      if (bound !== undefined && bound.brokerId !== hb.brokerId) {
        this.fail(call, new RunnelError('INVALID_REQUEST', `this heartbeat stream belongs to broker ${bound.brokerId}, not ${hb.brokerId}`));
        return;
      }
      const s = this.sessions.get(hb.brokerId);
      if (s === undefined || s.incarnation !== hb.incarnation) {
        this.fail(call, new RunnelError('UNKNOWN_BROKER', `broker ${hb.brokerId} (incarnation ${JSON.stringify(hb.incarnation)}) is not registered with this coordinator; register again`));
        return;
      }
      if (s.stream !== call) {
        const previous = s.stream;
        s.stream = call;
        // The broker opened a new stream; the old one is abandoned (its end is no longer a death).
        if (previous !== undefined) this.endQuietly(previous);
      }
      bound = s;
      s.lastHeardMs = this.now();
      if (hb.partitions.length > 0) this.opts.onLeaderStatus?.(hb.brokerId, hb.partitions);
      if (!blocked) blocked = !call.write({ metadataVersion: this.controller.state.version });
    });
    call.on('drain', () => {
      blocked = false;
    });
    const lost = (reason: string): void => {
      if (bound !== undefined && this.sessions.get(bound.brokerId) === bound && bound.stream === call) this.expire(bound, reason);
    };
    call.on('end', () => {
      lost('heartbeat stream ended');
      this.endQuietly(call);
    });
    call.on('cancelled', () => lost('heartbeat stream cancelled'));
    call.on('error', () => lost('heartbeat stream failed'));
    call.on('close', () => lost('heartbeat stream closed'));
  }

  /** One failure-detection pass (also run by the timer). */
  check(): void {
    if (this.closed) return;
    const now = this.now();
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastHeardMs > this.sessionTimeoutMs) this.expire(s, 'session timeout');
    }
    const overdue = [...this.awaiting.entries()].filter(([, deadline]) => now >= deadline).map(([id]) => id);
    if (overdue.length === 0) return;
    for (const id of overdue) {
      this.awaiting.delete(id);
      this.log.warn({ brokerId: id, reason: 'not registered again after coordinator restart' }, 'broker dead');
    }
    this.opts.onAwaitingChange?.();
  }

  /** Stops failure detection and ends every heartbeat stream (brokers will register again with the next coordinator). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.sessions.values()) {
      if (s.stream !== undefined) this.fail(s.stream, new RunnelError('SHUTTING_DOWN', 'the coordinator is shutting down'));
    }
    this.sessions.clear();
  }

  private expire(s: Session, reason: string): void {
    if (this.closed) return;
    this.sessions.delete(s.brokerId);
    if (s.stream !== undefined) {
      this.fail(s.stream, new RunnelError('UNKNOWN_BROKER', `broker ${s.brokerId} was declared dead (${reason}); register again`));
    }
    this.log.warn({ brokerId: s.brokerId, incarnation: s.incarnation, reason }, 'broker dead');
    this.background(
      this.controller.transact((tx) => {
        tx.apply({ type: 'MarkBrokerDead', brokerId: s.brokerId, incarnation: s.incarnation });
      }),
    );
  }

  private fail(call: HeartbeatCall, err: RunnelError): void {
    try {
      call.emit('error', toGrpcStatus(err));
    } catch {
      // the stream is already gone
    }
  }

  private endQuietly(call: HeartbeatCall): void {
    try {
      if (!call.writableEnded) call.end();
    } catch {
      // already gone
    }
  }

  private background(p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      this.log.error({ err: normaliseError(err) }, 'membership change failed');
    });
  }
}
