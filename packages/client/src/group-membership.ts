import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, fromServiceError } from '@runnel/protocol';
import type { GroupSessionRequest, GroupSessionResponse__Output, TopicPartition } from '@runnel/protocol';
import type { ConnectionPool } from './connection-pool.js';
import { GROUP_FENCE_CHECK_MS, RECONNECT_BACKOFF_MS_INITIAL, RECONNECT_BACKOFF_MS_MAX } from './constants.js';
import type { GroupCoordinatorClient } from './group-coordinator-client.js';
import { backoffMs, sleep } from './retry.js';

/** `topic/partition` (topic names cannot contain "/"). */
export type TpKey = string;

export const tpKey = (topic: string, partition: number): TpKey => `${topic}/${partition}`;

export function parseTp(key: TpKey): TopicPartition & { topic: string; partition: number } {
  const slash = key.lastIndexOf('/');
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) };
}

export interface MembershipHandlers {
  /** The coordinator's assignment: `assigned` is everything owned now; `revoke` must be stopped, committed and confirmed. */
  onAssignment(generation: number, assigned: TpKey[], revoke: TpKey[]): void;
  /** Membership is no longer certain (removed, or the coordinator silent for too long): stop every partition now. */
  onLost(reason: string): void;
  /** A non-retriable error (unknown topic, bad options): the consumer stops. */
  onFatal(err: RunnelError): void;
}

export interface MembershipOptions {
  readonly group: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly clientId: string;
  readonly pool: ConnectionPool;
  readonly coordinator: GroupCoordinatorClient;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Partitions the consumer still consumes (claimed when rejoining a new coordinator). */
  readonly owned: () => TpKey[];
  readonly handlers: MembershipHandlers;
}

/**
 * A member's GroupSession with its group's coordinator, kept alive across coordinator moves:
 * join (rejoining under the same member id with the partitions still owned), heartbeat every
 * heartbeat interval, forward assignments, confirm revocations.
 *
 * Self-fencing: the coordinator removes a member whose heartbeats stop for the session timeout.
 * The member measures the same timeout from the *send* time of its last answered heartbeat (which
 * is earlier than the coordinator's receive time), and stops all partitions a margin before it
 * runs out, so it stops consuming before the coordinator can hand its partitions to another member.
 */
export class GroupMembership {
  private memberId = '';
  private call: grpc.ClientDuplexStream<GroupSessionRequest, GroupSessionResponse__Output> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private readonly sentAt = new Map<number, number>();
  /** Send time of the latest heartbeat (or join) the coordinator answered; undefined while no session. */
  private confirmedAtMs: number | undefined;
  private lostReported = true;
  private readonly fenceTimer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly o: MembershipOptions) {
    this.log = o.logger.child({ component: 'group', group: o.group });
    this.fenceTimer = setInterval(() => this.checkFence(), GROUP_FENCE_CHECK_MS);
    this.fenceTimer.unref();
  }

  get id(): string {
    return this.memberId;
  }

  /** Runs sessions until the signal aborts or a fatal error. */
  async run(): Promise<void> {
    try {
      for (let failures = 0; !this.o.signal.aborted; ) {
        const outcome = await this.sessionOnce();
        if (this.o.signal.aborted) return;
        if (outcome.joined) failures = 0;
        const err = outcome.error;
        if (err.code === 'UNKNOWN_MEMBER') {
          this.memberId = '';
          this.lose(`the coordinator removed this member: ${err.message}`);
        } else if (!err.retriable) {
          this.o.handlers.onFatal(err);
          return;
        }
        this.o.coordinator.invalidate(err.code === 'NOT_COORDINATOR' ? err : undefined);
        failures++;
        this.log.debug({ code: err.code, err: err.message, failures }, 'group session interrupted; rejoining');
        await sleep(backoffMs(failures - 1, { initialBackoffMs: RECONNECT_BACKOFF_MS_INITIAL, backoffMsMax: RECONNECT_BACKOFF_MS_MAX }), this.o.signal, 'consumer');
      }
    } catch (err) {
      if (!this.o.signal.aborted) throw err;
    } finally {
      clearInterval(this.fenceTimer);
      this.stopHeartbeats();
    }
  }

  /** Tells the coordinator these partitions are stopped and committed. */
  revoked(tps: readonly TpKey[]): void {
    if (tps.length > 0) this.call?.write({ revoked: { partitions: tps.map(parseTp) } });
  }

  /** Leaves the group at once (its partitions move without waiting for the session timeout). */
  leave(): void {
    const call = this.call;
    if (call === undefined) return;
    call.write({ leave: {} });
    call.end();
  }

  private lose(reason: string): void {
    this.confirmedAtMs = undefined;
    if (this.lostReported) return;
    this.lostReported = true;
    this.log.info({ reason }, 'group membership lost; stopped every partition');
    this.o.handlers.onLost(reason);
  }

  private checkFence(): void {
    if (this.confirmedAtMs === undefined) return;
    const margin = Math.max(200, Math.floor(this.o.sessionTimeoutMs / 5));
    if (Date.now() - this.confirmedAtMs > this.o.sessionTimeoutMs - margin) {
      this.lose(`no answer from the group coordinator for ${Date.now() - this.confirmedAtMs} ms (session timeout ${this.o.sessionTimeoutMs} ms)`);
    }
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.sentAt.clear();
  }

  private async sessionOnce(): Promise<{ joined: boolean; error: RunnelError }> {
    let at: Awaited<ReturnType<GroupCoordinatorClient['find']>>;
    try {
      at = await this.o.coordinator.find();
    } catch (err) {
      return { joined: false, error: fromServiceError(err) };
    }
    return new Promise((resolve) => {
      let joined = false;
      let settled = false;
      let untrack = (): void => undefined;
      const joinSentAt = Date.now();
      const finish = (error: RunnelError): void => {
        if (settled) return;
        settled = true;
        untrack();
        this.stopHeartbeats();
        this.call = undefined;
        resolve({ joined, error });
      };
      try {
        const client = this.o.pool.broker(at.address);
        const call = client.GroupSession();
        untrack = this.o.pool.track(call);
        this.call = call;
        call.on('data', (msg: GroupSessionResponse__Output) => {
          if (settled) return;
          if (msg.joined !== null && msg.joined !== undefined) {
            joined = true;
            this.memberId = msg.joined.memberId;
            this.confirmedAtMs = joinSentAt;
            this.lostReported = false;
            const interval = Math.max(100, msg.joined.heartbeatIntervalMs);
            this.heartbeatTimer = setInterval(() => {
              const seq = ++this.sequence;
              this.sentAt.set(seq, Date.now());
              if (this.sentAt.size > 100) this.sentAt.delete(this.sentAt.keys().next().value!);
              call.write({ heartbeat: { sequence: seq } });
            }, interval);
            this.log.debug({ member: this.memberId, coordinator: at.brokerId }, 'joined group');
          } else if (msg.heartbeatAck !== null && msg.heartbeatAck !== undefined) {
            const sent = this.sentAt.get(msg.heartbeatAck.sequence);
            if (sent !== undefined && (this.confirmedAtMs === undefined || sent > this.confirmedAtMs)) this.confirmedAtMs = sent;
          } else if (msg.assignment !== null && msg.assignment !== undefined) {
            const a = msg.assignment;
            this.o.handlers.onAssignment(a.generation, a.assigned.map((tp) => tpKey(tp.topic, tp.partition)), a.revoke.map((tp) => tpKey(tp.topic, tp.partition)));
          }
        });
        call.on('error', (e: unknown) => finish(fromServiceError(e)));
        call.on('end', () => finish(new RunnelError('UNREACHABLE', `group session with ${at.address} ended`, { retriable: true })));
        call.write({
          join: {
            group: this.o.group, topics: [...this.o.topics], memberId: this.memberId, owned: this.o.owned().map(parseTp),
            sessionTimeoutMs: this.o.sessionTimeoutMs, clientId: this.o.clientId,
          },
        });
      } catch (e) {
        finish(fromServiceError(e));
      }
    });
  }
}
