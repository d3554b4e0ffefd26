import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, normaliseError, toGrpcStatus } from '@runnel/protocol';
import type { GroupSessionRequest__Output, GroupSessionResponse, JoinGroup__Output } from '@runnel/protocol';
import {
  GROUP_MEMBERS_MAX, GROUP_SESSION_TIMEOUT_MS_DEFAULT, GROUP_SESSION_TIMEOUT_MS_MAX, GROUP_SESSION_TIMEOUT_MS_MIN, GROUP_TOPICS_MAX,
} from '../constants.js';
import { parseTpKey, tpKey, type TpKey } from './assignor.js';
import type { GroupCoordinator, GroupEntry, MemberSessionSink } from './group-coordinator.js';
import { assertValidGroupName } from './offsets-records.js';

type SessionCall = grpc.ServerDuplexStream<GroupSessionRequest__Output, GroupSessionResponse>;

const MEMBER_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** A validated JoinGroup. */
interface Join {
  readonly group: string;
  readonly topics: string[];
  readonly memberId: string;
  readonly owned: TpKey[];
  readonly sessionTimeoutMs: number;
  readonly clientId: string;
}

function validateJoin(groups: GroupCoordinator, join: JoinGroup__Output): Join {
  assertValidGroupName(join.group);
  const topics = [...new Set(join.topics ?? [])];
  if (topics.length === 0) throw new RunnelError('INVALID_REQUEST', 'JoinGroup names no topics; subscribe to at least one');
  if (topics.length > GROUP_TOPICS_MAX) throw new RunnelError('INVALID_REQUEST', `a member subscribes to at most ${GROUP_TOPICS_MAX} topics`);
  for (const t of topics) {
    if (t.startsWith('__')) throw new RunnelError('INVALID_REQUEST', `topic ${JSON.stringify(t)} is internal; groups cannot consume it`);
    groups.checkPartition(t, 0);
  }
  const requested = join.sessionTimeoutMs;
  const sessionTimeoutMs = requested === 0 ? GROUP_SESSION_TIMEOUT_MS_DEFAULT : requested;
  if (sessionTimeoutMs < GROUP_SESSION_TIMEOUT_MS_MIN || sessionTimeoutMs > GROUP_SESSION_TIMEOUT_MS_MAX) {
    throw new RunnelError('INVALID_REQUEST', `session_timeout_ms ${requested} is out of range: use ${GROUP_SESSION_TIMEOUT_MS_MIN} to ${GROUP_SESSION_TIMEOUT_MS_MAX}, or 0 for ${GROUP_SESSION_TIMEOUT_MS_DEFAULT}`);
  }
  if (join.memberId !== '' && !MEMBER_ID.test(join.memberId)) throw new RunnelError('INVALID_REQUEST', 'member_id must be 1-100 characters of A-Z a-z 0-9 . _ - (or empty for a new member)');
  const owned = (join.owned ?? []).filter((tp) => topics.includes(tp.topic) && Number.isInteger(tp.partition) && tp.partition >= 0).map((tp) => tpKey(tp.topic, tp.partition));
  return { group: join.group, topics, memberId: join.memberId, owned, sessionTimeoutMs, clientId: (join.clientId ?? '').slice(0, 200) };
}

/**
 * The GroupSession stream of one member: JoinGroup first, then heartbeats (each answered with its
 * sequence and the generation), revocation confirmations and an optional LeaveGroup. The member
 * stays in the group when the stream ends without LeaveGroup, until its session timeout passes
 * since its last heartbeat, so a member that reconnects in time keeps its partitions.
 */
export function groupSessionHandler(groups: GroupCoordinator, nowMs: () => number, logger: Logger): grpc.handleBidiStreamingCall<GroupSessionRequest__Output, GroupSessionResponse> {
  const log = logger.child({ component: 'groups' });
  return (call: SessionCall) => {
    let phase: 'awaiting-join' | 'joining' | 'joined' | 'ended' = 'awaiting-join';
    let member: { id: string; entry: GroupEntry; part: Awaited<ReturnType<GroupCoordinator['entryForJoin']>>['part'] } | undefined;
    const end = (error?: RunnelError): void => {
      if (phase === 'ended') return;
      phase = 'ended';
      if (member !== undefined && member.entry.sessions.get(member.id) === sink) member.entry.sessions.delete(member.id);
      if (error !== undefined) call.emit('error', toGrpcStatus(error));
      else call.end();
    };
    const write = (msg: GroupSessionResponse): void => {
      if (phase !== 'ended') call.write(msg);
    };
    const sink: MemberSessionSink = {
      assignment: (generation, assigned, revoke) => write({
        assignment: { generation, assigned: assigned.map(parseTpKey), revoke: revoke.map(parseTpKey) },
      }),
      end: (error) => end(error),
    };

    const join = async (request: JoinGroup__Output): Promise<void> => {
      const j = validateJoin(groups, request);
      const { part, entry } = await groups.entryForJoin(j.group, j.sessionTimeoutMs);
      if (phase === 'ended') return;
      const memberId = j.memberId !== '' ? j.memberId : randomUUID();
      if (!entry.state.members.has(memberId) && entry.state.members.size >= GROUP_MEMBERS_MAX) {
        throw new RunnelError('TOO_MANY_REQUESTS', `group ${JSON.stringify(j.group)} already has ${GROUP_MEMBERS_MAX} members`);
      }
      const previous = entry.sessions.get(memberId);
      entry.sessions.delete(memberId);
      previous?.end(new RunnelError('UNKNOWN_MEMBER', `member ${memberId} opened a newer session`));
      entry.sessions.set(memberId, sink);
      member = { id: memberId, entry, part };
      phase = 'joined';
      write({ joined: { memberId, heartbeatIntervalMs: Math.floor(j.sessionTimeoutMs / 3), sessionTimeoutMs: j.sessionTimeoutMs } });
      const counts = groups.refreshCounts(entry, j.topics);
      if (counts !== undefined) groups.apply(entry, counts);
      const effects = entry.state.join({ memberId, topics: j.topics, owned: j.owned, sessionTimeoutMs: j.sessionTimeoutMs, clientId: j.clientId }, nowMs());
      groups.apply(entry, effects);
      if (!effects.notify.has(memberId)) groups.sendAssignment(entry, memberId);
      log.info({ group: j.group, member: memberId, topics: j.topics, rejoin: j.memberId !== '', generation: entry.state.generation }, 'group member joined');
    };

    call.on('data', (msg: GroupSessionRequest__Output) => {
      try {
        if (phase === 'ended') return;
        if (msg.kind === 'join' && msg.join !== null && msg.join !== undefined) {
          if (phase !== 'awaiting-join') throw new RunnelError('INVALID_REQUEST', 'join must be the first message of a group session, and only the first');
          phase = 'joining';
          const request = msg.join;
          join(request).catch((err: unknown) => end(normaliseError(err)));
          return;
        }
        if (phase === 'awaiting-join') throw new RunnelError('INVALID_REQUEST', 'the first message of a group session must be join');
        if (member === undefined) return; // still joining: the client sends nothing else before `joined`
        const { id, entry, part } = member;
        groups.assertCurrent(part);
        const now = nowMs();
        if (msg.kind === 'heartbeat') {
          if (!entry.state.heartbeat(id, now)) throw new RunnelError('UNKNOWN_MEMBER', `member ${id} is no longer in group ${entry.state.name}; join again`);
          write({ heartbeatAck: { sequence: msg.heartbeat?.sequence ?? 0, generation: entry.state.generation } });
        } else if (msg.kind === 'revoked') {
          const keys = (msg.revoked?.partitions ?? []).map((tp) => tpKey(tp.topic, tp.partition));
          entry.state.heartbeat(id, now);
          groups.apply(entry, entry.state.revokeDone(id, keys, now));
        } else if (msg.kind === 'leave') {
          entry.sessions.delete(id);
          groups.apply(entry, entry.state.leave(id, now));
          log.info({ group: entry.state.name, member: id }, 'group member left');
          end();
        } else {
          throw new RunnelError('INVALID_REQUEST', 'a group session message must be join, heartbeat, revoked or leave');
        }
      } catch (err) {
        end(normaliseError(err));
      }
    });
    // A stream that ends without LeaveGroup leaves the member in place until its session times out.
    call.on('end', () => end());
    call.on('cancelled', () => end());
    call.on('error', () => end());
  };
}

