import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import { ERROR_METADATA } from '@runnel/protocol';
import type { FetchRequest__Output, ProduceRequest__Output, ProduceResponse, RawBatchesResponse, SubscribeRequest__Output } from '@runnel/protocol';
import { ProduceService } from '../produce-handler.js';
import type { BrokerMetrics } from './broker-metrics.js';
import { requestedAckLabel } from './broker-metrics.js';

/**
 * ProduceService that times every produce it handles (from `start` to the answer) and counts the
 * errors, for both Produce and ProduceStream and the broker's own group writes. Requests forwarded
 * to another broker never reach `start` here, so they are measured on the leader only.
 */
export class InstrumentedProduceService extends ProduceService {
  readonly #metrics: BrokerMetrics;

  constructor(metrics: BrokerMetrics, ...args: ConstructorParameters<typeof ProduceService>) {
    super(...args);
    this.#metrics = metrics;
  }

  override start(request: ProduceRequest__Output | null | undefined, internal = false): Promise<ProduceResponse> {
    const acks = requestedAckLabel(request?.acks);
    const startedMs = performance.now();
    const result = super.start(request, internal);
    result.then(
      () => this.#metrics.produceAnswered(acks, startedMs),
      (err: unknown) => this.#metrics.produceFailed(err),
    );
    return result;
  }
}

type FetchHandler = grpc.handleUnaryCall<FetchRequest__Output, RawBatchesResponse>;

/** Whether a status the handler ended a call with is OFFSET_OUT_OF_RANGE. */
function isOutOfRange(status: unknown): boolean {
  const md = (status as { metadata?: grpc.Metadata } | null | undefined)?.metadata;
  return md?.get(ERROR_METADATA.code)[0] === 'OFFSET_OUT_OF_RANGE';
}

type SubscribeHandler = grpc.handleBidiStreamingCall<SubscribeRequest__Output, RawBatchesResponse>;

/** The Fetch handler, counting the records and bytes of every successful answer (one call per answer). */
export function instrumentFetch(handler: FetchHandler, metrics: BrokerMetrics): FetchHandler {
  return (call, callback) => {
    handler(call, (err, value, trailer, flags) => {
      if (err === null && value !== undefined && value !== null) metrics.delivered('fetch', call.request.topic, value.batches);
      else if (isOutOfRange(err)) metrics.outOfRange('fetch', call.request.topic, call.request.partition, Number(call.request.offset));
      callback(err, value, trailer, flags);
    });
  };
}

/**
 * The Subscribe handler, counting the records and bytes of every push: the call's `write` is
 * wrapped (one call per push) and the topic taken from the first (`start`) message. The offset the
 * subscription reads next is followed from the same pushes, so an OFFSET_OUT_OF_RANGE it ends with
 * is counted against it (outOfRange).
 */
export function instrumentSubscribe(handler: SubscribeHandler, metrics: BrokerMetrics): SubscribeHandler {
  return (call) => {
    let topic: string | undefined;
    let partition = 0;
    let next = -1;
    const write = call.write.bind(call) as (...args: unknown[]) => boolean;
    (call as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
      const chunk = args[0] as RawBatchesResponse | undefined;
      if (topic !== undefined && chunk !== undefined && chunk.batches.length > 0) metrics.delivered('subscribe', topic, chunk.batches);
      if (chunk?.nextOffset !== undefined) next = Number(chunk.nextOffset);
      else if (chunk?.startOffset !== undefined) next = Number(chunk.startOffset);
      return write(...args);
    };
    handler(call);
    call.on('error', (status: unknown) => {
      if (topic !== undefined && next >= 0 && isOutOfRange(status)) metrics.outOfRange('subscribe', topic, partition, next);
    });
    // After the handler's own listener: it starts the subscription, then this names the topic
    // (synchronously, before the first push can be written).
    call.once('data', (message: SubscribeRequest__Output) => {
      if (message.kind === 'start') {
        topic = message.start?.topic;
        partition = message.start?.partition ?? 0;
        if (message.start?.position?.at === 'offset') next = Number(message.start.position.offset);
      }
    });
  };
}
