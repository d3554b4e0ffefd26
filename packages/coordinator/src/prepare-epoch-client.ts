import * as grpc from '@grpc/grpc-js';
import { fromServiceError, GRPC_CHANNEL_OPTIONS, runnelGrpc, dialAddress } from '@runnel/protocol';
import type { PrepareEpochResponse__Output, ReplicationClient } from '@runnel/protocol';
import type { EpochPromise, PrepareRejected } from '@runnel/replication';
import type { Logger } from 'pino';
import { BROKERS_MAX } from './constants.js';

/** One PrepareEpoch call: Replication.PrepareEpoch's request fields. */
export interface PrepareEpochCall {
  readonly topicId: string;
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
  /** The assigned replica set, ordered (first = preferred leader). */
  readonly replicas: readonly number[];
}

/** Where a broker is reached: its id and the address it registered. */
export interface BrokerTarget {
  readonly brokerId: number;
  readonly address: string;
}

/**
 * How the election driver asks a replica to promise an epoch. Resolves with the replica's answer,
 * or `undefined` when there is none (unreachable, deadline, error, an answer that does not match
 * the request): the election core treats that as silence, re-sends, and times out.
 */
export interface PrepareEpochTransport {
  prepare(target: BrokerTarget, call: PrepareEpochCall, timeoutMs: number): Promise<EpochPromise | PrepareRejected | undefined>;
  close(): void;
}

/**
 * The gRPC PrepareEpochTransport: Replication.PrepareEpoch on the broker's registered address, with
 * a deadline. One channel per broker, replaced when the broker registers another address.
 */
export class PrepareEpochClient implements PrepareEpochTransport {
  readonly #log: Logger;
  readonly #clients = new Map<number, { address: string; client: ReplicationClient }>();
  #closed = false;

  /** `clusterId`: sent with every request; a broker of another cluster refuses it. */
  constructor(log: Logger, private readonly clusterId: string) {
    this.#log = log;
  }

  prepare(target: BrokerTarget, call: PrepareEpochCall, timeoutMs: number): Promise<EpochPromise | PrepareRejected | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const client = this.#client(target);
    if (client === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      client.PrepareEpoch(
        { topicId: call.topicId, topic: call.topic, partition: call.partition, epoch: call.epoch, replicas: [...call.replicas], clusterId: this.clusterId },
        { deadline: new Date(Date.now() + timeoutMs) },
        (err: grpc.ServiceError | null, res?: PrepareEpochResponse__Output) => {
          if (err !== null || res === undefined) {
            const e = err === null ? undefined : fromServiceError(err);
            this.#log.debug({ brokerId: target.brokerId, topic: call.topic, partition: call.partition, epoch: call.epoch, code: e?.code, reason: e?.message }, 'PrepareEpoch failed');
            resolve(undefined);
            return;
          }
          resolve(this.#answer(target, call, res));
        },
      );
    });
  }

  /** Closes every channel; later calls resolve with no answer. */
  close(): void {
    this.#closed = true;
    for (const { client } of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  #client(target: BrokerTarget): ReplicationClient | undefined {
    const known = this.#clients.get(target.brokerId);
    if (known !== undefined && known.address === target.address) return known.client;
    if (known !== undefined) {
      known.client.close();
      this.#clients.delete(target.brokerId);
    }
    if (this.#clients.size >= BROKERS_MAX) return undefined;
    const client = new (runnelGrpc().runnel.v1.Replication)(dialAddress(target.address), grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
    this.#clients.set(target.brokerId, { address: target.address, client });
    return client;
  }

  /** The answer as the election core's message, or undefined when it is not an answer to this call by this broker. */
  #answer(target: BrokerTarget, call: PrepareEpochCall, res: PrepareEpochResponse__Output): EpochPromise | PrepareRejected | undefined {
    const p = res.promise;
    if (res.result === 'promise' && p !== null && p !== undefined) {
      if (p.replicaId !== target.brokerId || p.epoch !== call.epoch) return this.#mismatch(target, call, 'promise');
      return { type: 'EpochPromise', epoch: p.epoch, replicaId: p.replicaId, lastEpoch: p.lastEpoch, logEndOffset: p.logEndOffset };
    }
    const r = res.rejected;
    if (res.result === 'rejected' && r !== null && r !== undefined) {
      if (r.replicaId !== target.brokerId) return this.#mismatch(target, call, 'rejection');
      return { type: 'PrepareRejected', epoch: call.epoch, replicaId: r.replicaId, promisedEpoch: r.promisedEpoch };
    }
    return this.#mismatch(target, call, 'empty answer');
  }

  #mismatch(target: BrokerTarget, call: PrepareEpochCall, what: string): undefined {
    this.#log.warn({ brokerId: target.brokerId, address: target.address, topic: call.topic, partition: call.partition, epoch: call.epoch, what }, 'ignored a PrepareEpoch answer that does not match the call');
    return undefined;
  }
}
