// Produces beyond the broker's bounds (issue 18, "producers faster than the brokers"): per partition
// (pending produce bytes), per connection (bytes outstanding over every call) and per ProduceStream
// (bytes outstanding: the stream stops being read). Refusals are the retriable TOO_MANY_REQUESTS
// with a retry-after hint that survives the gRPC edge (trailer runnel-retry-after-ms).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RunnelError, fromServiceError, toGrpcStatus } from '@runnel/protocol';
import type { ProduceResponse } from '@runnel/protocol';
import { ConnectionProduceBudget, produceRequestBytes } from '../src/connection-produce-budget.js';
import { BROKER_PENDING_PRODUCE_BYTES_MAX, PARTITION_PENDING_PRODUCE_BYTES_MAX, PRODUCE_RETRY_AFTER_MS } from '../src/constants.js';
import { BrokerProduceBytes, PendingProduces, brokerProduceBytesFor } from '../src/pending-produces.js';
import type { ProduceService } from '../src/produce-handler.js';
import { ProduceStreamSession } from '../src/produce-stream-handler.js';
import { silentLogger } from './helpers.js';

function refusal(fn: () => unknown): RunnelError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RunnelError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** The error as a client sees it after the gRPC edge (status + trailers). */
function overTheWire(err: RunnelError): RunnelError {
  const status = toGrpcStatus(err);
  return fromServiceError(Object.assign(new Error(status.details), { code: status.code, details: status.details, metadata: status.metadata }));
}

const record = (bytes: number): { value: Buffer } => ({ value: Buffer.alloc(bytes) });

describe('produce backpressure at the broker', () => {
  it('partitions of one broker share one bound below the storage write queue: the next batch is refused with TOO_MANY_REQUESTS, and admitted again once one is settled', () => {
    const broker = new BrokerProduceBytes();
    expect(BROKER_PENDING_PRODUCE_BYTES_MAX).toBeLessThanOrEqual(64 * 1024 * 1024); // storage pendingBytesMax
    const parts = [0, 1, 2].map(() => new PendingProduces(broker));
    const third = Math.floor(BROKER_PENDING_PRODUCE_BYTES_MAX / 3);
    const ids = parts.map((p) => {
      p.admit(third, 't/n');
      const id = p.nextId();
      p.add(id, { sizeBytes: third, recordCount: 1, leaderEpoch: 1, appendTimeMs: 0, resolve: () => undefined, reject: () => undefined });
      return id;
    });
    expect(broker.bytes).toBe(3 * third);
    // Each partition is far below its own bound; the broker's is full.
    const err = refusal(() => parts[0]!.admit(1024, 't/0'));
    expect(err).toMatchObject({ code: 'TOO_MANY_REQUESTS', retriable: true, retryAfterMs: PRODUCE_RETRY_AFTER_MS });
    expect(err.message).toMatch(/over all its partitions/);
    parts[1]!.settle({ produceId: ids[1]!, baseOffset: 0 }, () => new RunnelError('TIMEOUT', 'x'));
    expect(broker.bytes).toBe(2 * third);
    expect(() => parts[0]!.admit(1024, 't/0')).not.toThrow();
    // One budget per broker store.
    const store = {};
    expect(brokerProduceBytesFor(store)).toBe(brokerProduceBytesFor(store));
    expect(brokerProduceBytesFor({})).not.toBe(brokerProduceBytesFor(store));
  });

  it('a partition with its pending produce bytes full refuses the next batch with retriable TOO_MANY_REQUESTS and a retry-after hint', () => {
    const p = new PendingProduces();
    const half = PARTITION_PENDING_PRODUCE_BYTES_MAX / 2;
    for (let i = 0; i < 2; i++) {
      p.admit(half, 't/0');
      p.add(p.nextId(), { sizeBytes: half, recordCount: 1, leaderEpoch: 1, appendTimeMs: 0, resolve: () => undefined, reject: () => undefined });
    }
    const err = refusal(() => p.admit(1, 't/0'));
    expect([err.code, err.retriable, err.retryAfterMs]).toEqual(['TOO_MANY_REQUESTS', true, PRODUCE_RETRY_AFTER_MS]);
    expect(err.message).toMatch(/nothing was written/);
    const seen = overTheWire(err);
    expect([seen.code, seen.retriable, seen.retryAfterMs]).toEqual(['TOO_MANY_REQUESTS', true, PRODUCE_RETRY_AFTER_MS]);
    expect(toGrpcStatus(err).metadata?.get('runnel-retry-after-ms')).toEqual([String(PRODUCE_RETRY_AFTER_MS)]);
    // Once acks drain the partition, the same batch is admitted.
    p.settle({ produceId: 1, baseOffset: 0 }, () => new RunnelError('TIMEOUT', 'x'));
    expect(() => p.admit(1, 't/0')).not.toThrow();
    // A batch larger than the bound still fits into an empty partition (it is never refused for good).
    expect(() => new PendingProduces().admit(PARTITION_PENDING_PRODUCE_BYTES_MAX * 2, 't/0')).not.toThrow();
  });

  it('one connection is bounded over every call it makes; other connections are not affected; releasing frees the room', () => {
    const budget = new ConnectionProduceBudget(1000);
    const releases = [budget.take('peer-a', 600), budget.take('peer-a', 400)];
    const err = refusal(() => budget.take('peer-a', 1));
    expect([err.code, err.retriable, err.retryAfterMs]).toEqual(['TOO_MANY_REQUESTS', true, PRODUCE_RETRY_AFTER_MS]);
    expect(() => budget.take('peer-b', 1000)).not.toThrow();
    releases[0]!();
    releases[0]!(); // twice counts once
    expect(budget.pendingBytes('peer-a')).toBe(400);
    budget.take('peer-a', 600);
    expect(budget.pendingBytes('peer-a')).toBe(1000);
    // A lone request above the bound fits an idle connection.
    expect(() => budget.take('peer-c', 5000)).not.toThrow();
    expect(produceRequestBytes({ topic: 't', records: [{ key: Buffer.alloc(3), value: Buffer.alloc(10), headers: { h: Buffer.alloc(2) } }] } as never)).toBe(15);
  });

  it('a ProduceStream stops being read at its pending bytes bound, answers over the connection bound in-band, and resumes as answers go out', async () => {
    const call = Object.assign(new EventEmitter(), {
      paused: false,
      written: [] as Array<{ correlationId: number; error?: { code: string; retriable: boolean } }>,
      pause() { this.paused = true; },
      resume() { this.paused = false; },
      write(m: { correlationId: number }) { this.written.push(m); return true; },
      end() {},
      getPeer() { return 'ipv4:127.0.0.1:5555'; },
    });
    const resolvers: Array<(r: ProduceResponse) => void> = [];
    const service = { start: () => new Promise<ProduceResponse>((resolve) => resolvers.push(resolve)) } as unknown as ProduceService;
    const connections = new ConnectionProduceBudget(3000);
    // In flight 64, bytes 2000 per stream: the in-flight bound is far; the byte bound is hit first.
    new ProduceStreamSession(call as never, service, silentLogger, 64, undefined, 2000, connections).start();
    call.emit('data', { correlationId: 1, request: { records: [record(1000)] } });
    expect(call.paused).toBe(false);
    call.emit('data', { correlationId: 2, request: { records: [record(1000)] } });
    expect(call.paused).toBe(true);
    // Another stream on the same connection already holds 1000 bytes: the connection is full.
    const other = connections.take('ipv4:127.0.0.1:5555', 1000);
    call.emit('data', { correlationId: 3, request: { records: [record(10)] } });
    expect(call.written).toMatchObject([{ correlationId: 3, error: { code: 'TOO_MANY_REQUESTS', retriable: true } }]);
    expect(resolvers).toHaveLength(2); // the refused request was not started
    other();
    resolvers.shift()!({ baseOffset: 0 });
    await Promise.resolve();
    await Promise.resolve();
    expect(call.paused).toBe(false);
    expect(connections.pendingBytes('ipv4:127.0.0.1:5555')).toBe(1000);
  });
});
