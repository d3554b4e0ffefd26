import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RunnelError, normaliseError, partitionForKey, quoteUserText, toGrpcStatus } from '@runnel/protocol';
import type { ProduceRequest__Output, ProduceResponse } from '@runnel/protocol';
import { ConnectionProduceBudget, produceRequestBytes } from './connection-produce-budget.js';
import { callDeadline, forwardingAllowed, type Forwarder } from './forwarder.js';
import { PRODUCE_TIMEOUT_MS_DEFAULT, PRODUCE_TIMEOUT_MS_MAX } from './constants.js';
import type { PartitionRegistry, ResolvedPartition } from './partition-registry.js';
import { NoAckDrops, type NoAckDropOptions } from './no-ack-drops.js';
import { buildRecordSet } from './record-batch-builder.js';

/** The ack wait a request asks for: 0 -> the default, capped at the maximum. */
export function produceTimeoutMs(requested: number): number {
  if (!Number.isFinite(requested) || requested <= 0) return PRODUCE_TIMEOUT_MS_DEFAULT;
  return Math.min(requested, PRODUCE_TIMEOUT_MS_MAX);
}

/**
 * Produce, shared by the unary call and ProduceStream. `start` validates and hands the batch to
 * the log synchronously, so requests started in order get offsets in that order; the returned
 * promise settles when the ack level is reached (ACKS_NONE: at once, offset -1, the append still
 * running, or dropped and counted if the partition is full). On any validation error nothing is written.
 */
export class ProduceService {
  private readonly noAck: NoAckDrops;
  /** Produce bytes outstanding per client connection, unary and streams together (bounded). */
  readonly connections = new ConnectionProduceBudget();

  constructor(
    private readonly registry: PartitionRegistry,
    private readonly nowMs: () => number,
    /** TEST ONLY (--test-fault ack-before-quorum): QUORUM and ALL are answered at the leader's append. */
    private readonly ackBeforeQuorum = false,
    /** ACKS_NONE produces a full partition cannot take are dropped, counted and logged there (no-ack-drops.ts). */
    noAckDrops: NoAckDropOptions = {},
  ) {
    this.noAck = new NoAckDrops(noAckDrops, nowMs);
  }

  /**
   * The partition a request goes to and, when another broker leads it, that leader's address
   * (nothing is appended here: the request may be forwarded). Throws what start() would for bad input.
   */
  route(request: ProduceRequest__Output | null | undefined): { partition: number; elsewhere: string | undefined } {
    const { target, partition } = this.target(request, false);
    try {
      this.registry.leaderFor(target);
      return { partition, elsewhere: undefined };
    } catch (err) {
      if (err instanceof RunnelError && err.code === 'NOT_LEADER' && err.leaderAddress !== undefined) return { partition, elsewhere: err.leaderAddress };
      throw err;
    }
  }

  /** Validates a request and resolves its partition (key hash when none is named); nothing is written. */
  private target(request: ProduceRequest__Output | null | undefined, internal: boolean): { request: ProduceRequest__Output; target: ResolvedPartition; partition: number } {
    if (request === null || request === undefined) throw new RunnelError('INVALID_REQUEST', 'the message carries no produce request');
    const topic = this.registry.resolveTopic(request.topic);
    if (!internal && topic.name.startsWith('__')) {
      throw new RunnelError('INVALID_TOPIC_NAME', `topic ${quoteUserText(topic.name)} is internal: only brokers write to it (it can be read)`);
    }
    if ((request.records ?? []).length === 0) throw new RunnelError('EMPTY_BATCH', `the produce request for ${topic.name} carries no records; send at least one`);
    let partition: number;
    if (request.partition !== undefined && request.partition !== null) {
      partition = request.partition;
    } else {
      const key = request.records[0]?.key;
      partition = key !== undefined && key.length > 0 && topic.partitions.length > 0 ? partitionForKey(key, topic.partitions.length) : 0;
    }
    return { request, target: this.registry.resolvePartition(topic, partition), partition };
  }

  /** `internal`: the broker's own writes (group commits); clients cannot write to "__" topics. */
  start(request: ProduceRequest__Output | null | undefined, internal = false): Promise<ProduceResponse> {
    try {
      const { request: req, target, partition } = this.target(request, internal);
      const topic = target.topic;
      const records = req.records;
      const leader = this.registry.leaderFor(target);
      const nowMs = this.nowMs();
      const built = buildRecordSet(records, nowMs, leader.settings.maxMessageBytes);
      const acks = req.acks ?? 'ACKS_UNSPECIFIED';
      if (acks === 'ACKS_NONE') {
        this.noAck.append(leader, built, topic.name, partition);
        return Promise.resolve({
          topic: topic.name, partition, baseOffset: -1, recordCount: built.recordCount, leaderEpoch: leader.epoch, appendTimeMs: nowMs,
        });
      }
      const asked = acks === 'ACKS_UNSPECIFIED' ? 'ACKS_QUORUM' : acks;
      const level = this.ackBeforeQuorum && !internal ? 'ACKS_LEADER' : asked;
      return leader.produce(built, level, produceTimeoutMs(req.timeoutMs), nowMs).then((outcome) => ({
        topic: topic.name,
        partition,
        baseOffset: outcome.baseOffset,
        recordCount: outcome.recordCount,
        leaderEpoch: outcome.leaderEpoch,
        appendTimeMs: outcome.appendTimeMs,
      }));
    } catch (err) {
      return Promise.reject(normaliseError(err));
    }
  }
}

/** Logs what is not a plain operating error (INTERNAL, STORAGE_ERROR) and returns the RunnelError. */
export function reportError(logger: Logger, err: unknown, what: string): RunnelError {
  const error = normaliseError(err);
  if (error.code === 'INTERNAL' || error.code === 'STORAGE_ERROR') logger.error({ err: error.cause ?? err }, `${what} failed`);
  return error;
}

/**
 * A produce, forwarded to the partition's leader when another broker leads it and the caller
 * allows forwarding, else started here (NOT_LEADER, with hints, when not the leader).
 */
export function produceOrForward(
  service: ProduceService, forwarder: Forwarder | undefined, request: ProduceRequest__Output | null | undefined, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
): Promise<ProduceResponse> {
  if (forwarder !== undefined && forwardingAllowed(call.metadata)) {
    try {
      const route = service.route(request);
      if (route.elsewhere !== undefined) return forwarder.produce(route.elsewhere, { ...request!, partition: route.partition }, callDeadline(call));
    } catch (err) {
      return Promise.reject(normaliseError(err));
    }
  }
  return service.start(request);
}

/** The unary Produce handler. */
export function produceHandler(service: ProduceService, logger: Logger, forwarder?: Forwarder): grpc.handleUnaryCall<ProduceRequest__Output, ProduceResponse> {
  return (call, callback) => {
    let release: () => void;
    try {
      release = service.connections.take(call.getPeer(), produceRequestBytes(call.request));
    } catch (err) {
      callback(toGrpcStatus(reportError(logger, err, 'produce')));
      return;
    }
    produceOrForward(service, forwarder, call.request, call).then(
      (response) => {
        release();
        callback(null, response);
      },
      (err: unknown) => {
        release();
        callback(toGrpcStatus(reportError(logger, err, 'produce')));
      },
    );
  };
}
