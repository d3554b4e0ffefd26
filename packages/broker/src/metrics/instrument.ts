import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
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
type SubscribeHandler = grpc.handleBidiStreamingCall<SubscribeRequest__Output, RawBatchesResponse>;

/** The Fetch handler, counting the records and bytes of every successful answer (one call per answer). */
export function instrumentFetch(handler: FetchHandler, metrics: BrokerMetrics): FetchHandler {
  return (call, callback) => {
    handler(call, (err, value, trailer, flags) => {
      if (err === null && value !== undefined && value !== null) metrics.delivered('fetch', call.request.topic, value.batches);
      callback(err, value, trailer, flags);
    });
  };
}

/**
 * The Subscribe handler, counting the records and bytes of every push: the call's `write` is
 * wrapped (one call per push) and the topic taken from the first (`start`) message.
 */
export function instrumentSubscribe(handler: SubscribeHandler, metrics: BrokerMetrics): SubscribeHandler {
  return (call) => {
    let topic: string | undefined;
    const write = call.write.bind(call) as (...args: unknown[]) => boolean;
    (call as unknown as { write: (...args: unknown[]) => boolean }).write = (...args) => {
      const chunk = args[0] as RawBatchesResponse | undefined;
      if (topic !== undefined && chunk !== undefined && chunk.batches.length > 0) metrics.delivered('subscribe', topic, chunk.batches);
      return write(...args);
    };
    handler(call);
    // After the handler's own listener: it starts the subscription, then this names the topic
    // (synchronously, before the first push can be written).
    call.once('data', (message: SubscribeRequest__Output) => {
      if (message.kind === 'start') topic = message.start?.topic;
    });
  };
}
