import type { ReplicationMessage, ReplicationMessage__Output } from '@runnel/protocol';
import type { ReplicaInput, ReplicaOutput } from '@runnel/replication';
import { receivedBatches } from './replica-batches.js';

/** A replication message with the partition it is about. */
export interface AddressedInput {
  readonly topicId: string;
  readonly partition: number;
  readonly msg: ReplicaInput;
}

/**
 * packages/replication messages.ts <-> runnel.v1.ReplicationMessage, one to one, the partition
 * added. Batches travel as the stored bytes. Coordinator-bound messages have no wire form here
 * (undefined).
 */
export function toWire(topicId: string, partition: number, msg: ReplicaOutput): ReplicationMessage | undefined {
  switch (msg.type) {
    case 'FetchRequest':
      return {
        topicId, partition,
        fetchRequest: { epoch: msg.epoch, replicaId: msg.replicaId, fetchOffset: msg.fetchOffset, lastFetchedEpoch: msg.lastFetchedEpoch, durableOffset: msg.durableOffset },
      };
    case 'FetchResponse':
      return {
        topicId, partition,
        fetchResponse: {
          epoch: msg.epoch,
          leaderId: msg.leaderId,
          batches: msg.batches.map((b) => b.payload),
          leaderHw: msg.leaderHw,
          confirmed: msg.confirmed !== undefined,
          confirmedFetchOffset: msg.confirmed?.fetchOffset ?? 0,
          confirmedLastFetchedEpoch: msg.confirmed?.lastFetchedEpoch ?? 0,
        },
      };
    case 'Diverging':
      return {
        topicId, partition,
        diverging: {
          epoch: msg.epoch, leaderId: msg.leaderId, fetchOffset: msg.fetchOffset, lastFetchedEpoch: msg.lastFetchedEpoch,
          divergingEpoch: msg.divergingEpoch, endOffset: msg.endOffset,
        },
      };
    case 'BelowLogStart':
      return {
        topicId, partition,
        belowLogStart: {
          epoch: msg.epoch, leaderId: msg.leaderId, fetchOffset: msg.fetchOffset, lastFetchedEpoch: msg.lastFetchedEpoch,
          logStartOffset: msg.logStartOffset, epochBeforeLogStart: msg.epochBeforeLogStart,
        },
      };
    case 'Fenced':
      return { topicId, partition, fenced: { epoch: msg.epoch, replicaId: msg.replicaId, rejectedEpoch: msg.rejectedEpoch } };
    default:
      return undefined;
  }
}

/** Bytes a wire message takes, roughly (queue accounting). */
export function wireBytes(m: ReplicationMessage): number {
  let bytes = 64;
  for (const b of m.fetchResponse?.batches ?? []) bytes += typeof b === 'string' ? b.length : b.byteLength;
  return bytes;
}

/** The core message of a received wire message; undefined if malformed (dropped: the protocol tolerates loss). */
export function fromWire(m: ReplicationMessage__Output): AddressedInput | undefined {
  const { topicId, partition } = m;
  if (typeof topicId !== 'string' || topicId === '' || !Number.isInteger(partition) || partition < 0) return undefined;
  switch (m.kind) {
    case 'fetchRequest': {
      const r = m.fetchRequest;
      if (r === null || r === undefined) return undefined;
      return {
        topicId, partition,
        msg: { type: 'FetchRequest', epoch: r.epoch, replicaId: r.replicaId, fetchOffset: r.fetchOffset, lastFetchedEpoch: r.lastFetchedEpoch, durableOffset: r.durableOffset },
      };
    }
    case 'fetchResponse': {
      const r = m.fetchResponse;
      if (r === null || r === undefined) return undefined;
      const batches = receivedBatches(r.batches);
      if (batches === undefined) return undefined;
      return {
        topicId, partition,
        msg: {
          type: 'FetchResponse', epoch: r.epoch, leaderId: r.leaderId, batches, leaderHw: r.leaderHw,
          ...(r.confirmed ? { confirmed: { fetchOffset: r.confirmedFetchOffset, lastFetchedEpoch: r.confirmedLastFetchedEpoch } } : {}),
        },
      };
    }
    case 'diverging': {
      const r = m.diverging;
      if (r === null || r === undefined) return undefined;
      return {
        topicId, partition,
        msg: {
          type: 'Diverging', epoch: r.epoch, leaderId: r.leaderId, fetchOffset: r.fetchOffset, lastFetchedEpoch: r.lastFetchedEpoch,
          divergingEpoch: r.divergingEpoch, endOffset: r.endOffset,
        },
      };
    }
    case 'belowLogStart': {
      const r = m.belowLogStart;
      if (r === null || r === undefined) return undefined;
      return {
        topicId, partition,
        msg: {
          type: 'BelowLogStart', epoch: r.epoch, leaderId: r.leaderId, fetchOffset: r.fetchOffset, lastFetchedEpoch: r.lastFetchedEpoch,
          logStartOffset: r.logStartOffset, epochBeforeLogStart: r.epochBeforeLogStart,
        },
      };
    }
    case 'fenced': {
      const r = m.fenced;
      if (r === null || r === undefined) return undefined;
      return { topicId, partition, msg: { type: 'Fenced', epoch: r.epoch, replicaId: r.replicaId, rejectedEpoch: r.rejectedEpoch } };
    }
    default:
      return undefined;
  }
}
