import assert from 'node:assert/strict';
import type { BrokerRecord, MetadataState, PartitionRecord, TopicRecord } from './metadata-state.js';

/**
 * Every change to the cluster metadata is one of these typed commands. `apply` is pure,
 * idempotent (applying a command twice changes nothing the second time) and ignores stale commands
 * (an older broker incarnation, a lower leader epoch, an old topic id), so commands can be replayed.
 */
export type MetadataCommand =
  | RegisterBrokerCommand
  | MarkBrokerDeadCommand
  | CreateTopicCommand
  | DeleteTopicCommand
  | ReserveEpochCommand
  | ChangeLeaderCommand;

/** A broker announced itself: alive, at this address, with this incarnation (a new one = a restart). */
export interface RegisterBrokerCommand {
  readonly type: 'RegisterBroker';
  readonly brokerId: number;
  readonly address: string;
  readonly rack: string;
  readonly incarnation: string;
}

/** The broker's `incarnation` stopped heartbeating (or the coordinator restarted). Stale if the broker has since re-registered with another incarnation. */
export interface MarkBrokerDeadCommand {
  readonly type: 'MarkBrokerDead';
  readonly brokerId: number;
  readonly incarnation: string;
}

export interface CreateTopicCommand {
  readonly type: 'CreateTopic';
  readonly topic: TopicRecord;
}

export interface DeleteTopicCommand {
  readonly type: 'DeleteTopic';
  readonly name: string;
  readonly topicId: string;
}

/**
 * An election is about to hand out `epoch` (PrepareEpoch): raise the partition's highest epoch to
 * it, so no later election (even after a coordinator restart) uses it again. Persisted before any
 * PrepareEpoch for it is sent. Ignored unless it raises the highest epoch.
 */
export interface ReserveEpochCommand {
  readonly type: 'ReserveEpoch';
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly epoch: number;
}

/**
 * A partition's leadership changes: `leader` (-1 = offline) at `epoch`. Applies when `epoch` is
 * greater than the current leader epoch, or equal to it when the partition goes offline (a
 * leadership ends within its epoch; it never starts again at the same epoch).
 */
export interface ChangeLeaderCommand {
  readonly type: 'ChangeLeader';
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leader: number;
  readonly epoch: number;
}

/**
 * Copies made by one metadata change (a series of `apply` calls whose intermediate states nobody
 * else keeps): a later command of the same change updates them in place instead of copying the
 * topic map and the partition list again. Without it, the 10,000 ReserveEpoch / ChangeLeader
 * commands of one wide topic's first elections would copy its 10,000-entry list 10,000 times.
 */
export interface ChangeDraft {
  /** The topic map this change made (the newest state's, when no other command replaced it). */
  topics: Map<string, TopicRecord> | undefined;
  /** Per topic name: the partition list this change made (in place while the topic record holds it). */
  readonly partitions: Map<string, PartitionRecord[]>;
}

export function newChangeDraft(): ChangeDraft {
  return { topics: undefined, partitions: new Map() };
}

/**
 * Returns the new state, or the very same object when the command changes nothing. With a
 * `draft`, states passed in must come from earlier calls with the same draft (or be the state the
 * change started from): they may be updated in place.
 */
export function apply(state: MetadataState, command: MetadataCommand, draft?: ChangeDraft): MetadataState {
  switch (command.type) {
    case 'RegisterBroker':
      return registerBroker(state, command);
    case 'MarkBrokerDead':
      return markBrokerDead(state, command);
    case 'CreateTopic':
      return createTopic(state, command);
    case 'DeleteTopic':
      return deleteTopic(state, command);
    case 'ReserveEpoch':
      return reserveEpoch(state, command, draft);
    case 'ChangeLeader':
      return changeLeader(state, command, draft);
  }
}

/** Applies commands in order. */
export function applyAll(state: MetadataState, commands: readonly MetadataCommand[]): MetadataState {
  const draft = newChangeDraft();
  return commands.reduce((s, c) => apply(s, c, draft), state);
}

function withBroker(state: MetadataState, broker: BrokerRecord): MetadataState {
  const brokers = new Map(state.brokers);
  brokers.set(broker.id, broker);
  return { ...state, version: state.version + 1, brokers };
}

function registerBroker(state: MetadataState, c: RegisterBrokerCommand): MetadataState {
  const old = state.brokers.get(c.brokerId);
  if (old !== undefined && old.alive && old.address === c.address && old.rack === c.rack && old.incarnation === c.incarnation) {
    return state;
  }
  return withBroker(state, { id: c.brokerId, address: c.address, rack: c.rack, incarnation: c.incarnation, alive: true });
}

function markBrokerDead(state: MetadataState, c: MarkBrokerDeadCommand): MetadataState {
  const old = state.brokers.get(c.brokerId);
  if (old === undefined || !old.alive || old.incarnation !== c.incarnation) return state;
  return withBroker(state, { ...old, alive: false });
}

function createTopic(state: MetadataState, c: CreateTopicCommand): MetadataState {
  if (state.topics.has(c.topic.name)) return state;
  c.topic.partitions.forEach((p, i) => {
    assert.equal(p.partition, i, 'partitions must be numbered 0..n-1 in order');
    assert.ok(p.leader === -1 || p.replicas.includes(p.leader), 'a leader must be one of the replicas');
    assert.ok(p.highestEpoch >= p.leaderEpoch, 'highestEpoch must cover leaderEpoch');
  });
  const topics = new Map(state.topics);
  topics.set(c.topic.name, c.topic);
  return { ...state, version: state.version + 1, topics };
}

function deleteTopic(state: MetadataState, c: DeleteTopicCommand): MetadataState {
  const old = state.topics.get(c.name);
  if (old === undefined || old.topicId !== c.topicId) return state;
  const topics = new Map(state.topics);
  topics.delete(c.name);
  return { ...state, version: state.version + 1, topics };
}

function withPartition(state: MetadataState, topic: TopicRecord, next: PartitionRecord, draft: ChangeDraft | undefined): MetadataState {
  if (draft !== undefined) {
    if (draft.topics !== state.topics) draft.topics = new Map(state.topics);
    let partitions = draft.partitions.get(topic.name);
    if (partitions === undefined || partitions !== topic.partitions) {
      partitions = topic.partitions.slice();
      draft.partitions.set(topic.name, partitions);
      draft.topics.set(topic.name, { ...topic, partitions });
    }
    partitions[next.partition] = next;
    return { ...state, version: state.version + 1, topics: draft.topics };
  }
  const partitions = topic.partitions.slice();
  partitions[next.partition] = next;
  const topics = new Map(state.topics);
  topics.set(topic.name, { ...topic, partitions });
  return { ...state, version: state.version + 1, topics };
}

function reserveEpoch(state: MetadataState, c: ReserveEpochCommand, draft: ChangeDraft | undefined): MetadataState {
  const topic = state.topics.get(c.topic);
  if (topic === undefined || topic.topicId !== c.topicId) return state;
  const old = topic.partitions[c.partition];
  if (old === undefined || c.epoch <= old.highestEpoch) return state;
  return withPartition(state, topic, { ...old, highestEpoch: c.epoch }, draft);
}

function changeLeader(state: MetadataState, c: ChangeLeaderCommand, draft: ChangeDraft | undefined): MetadataState {
  const topic = state.topics.get(c.topic);
  if (topic === undefined || topic.topicId !== c.topicId) return state;
  const old = topic.partitions[c.partition];
  if (old === undefined) return state;
  const newer = c.epoch > old.leaderEpoch;
  const endsCurrent = c.epoch === old.leaderEpoch && c.leader === -1 && old.leader !== -1;
  if (!newer && !endsCurrent) return state;
  assert.ok(c.leader === -1 || old.replicas.includes(c.leader), `broker ${c.leader} is not a replica of ${c.topic}/${c.partition}`);
  const next: PartitionRecord = {
    ...old,
    leader: c.leader,
    leaderEpoch: c.epoch,
    highestEpoch: Math.max(old.highestEpoch, c.epoch),
    status: c.leader === -1 ? 'offline' : 'online',
  };
  return withPartition(state, topic, next, draft);
}
