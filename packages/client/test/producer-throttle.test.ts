// The producer pushed back by a broker (issue 18): a TOO_MANY_REQUESTS answer (a broker bound is
// full) makes the batch wait and go again without using up retriesMax, bounded by requestTimeoutMs;
// a full buffer makes send() wait. Both show in producer.stats().
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunnelError } from '@runnel/protocol';
import { RetriesExhaustedError, RunnelClient } from '../src/index.js';
import { FakeCluster, waitFor } from './fake-cluster.js';

let cluster: FakeCluster;
let client: RunnelClient;

beforeEach(async () => {
  cluster = await FakeCluster.start(1);
  client = new RunnelClient({ bootstrap: cluster.bootstrap, requestTimeoutMs: 5_000, retry: { retriesMax: 2, initialBackoffMs: 5, backoffMsMax: 20 } });
});

afterEach(async () => {
  await client.close();
  cluster.stop();
});

const throttle = (): RunnelError => new RunnelError('TOO_MANY_REQUESTS', 'pending produce bytes full; retry after 100 ms', { retryAfterMs: 100 });

describe('producer pushed back by the broker', () => {
  it('waits out TOO_MANY_REQUESTS answers beyond retriesMax and reports them in stats()', async () => {
    cluster.addTopic('busy', 1, [1]);
    const b1 = cluster.broker(1);
    let refusals = 5;
    b1.produceError = () => (refusals-- > 0 ? throttle() : undefined);
    const producer = client.producer({ lingerMs: 0 });
    const started = Date.now();
    const res = await producer.send('busy', { value: 'x' });
    expect(res).toEqual([{ topic: 'busy', partition: 0, offset: 0 }]);
    expect(b1.produceRequests).toBe(6); // 5 refused (more than retriesMax 2), then written once
    // In-stream errors carry no hint: the default wait (100 ms, up to half again as jitter), doubled
    // with each refusal of the batch: 100 + 200 + 400 + 800 + 1600 ms at least.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_100);
    const stats = producer.stats();
    expect(stats.throttledRequests).toBe(5);
    expect(stats.throttleWaitMs).toBeGreaterThanOrEqual(3_100);
    expect(stats.bufferedBytes).toBe(0);
  });

  it('mutes a refused partition: only the refused batch is retried until it gets through, then the batches behind it go', async () => {
    cluster.addTopic('muted', 1, [1]);
    const b1 = cluster.broker(1);
    const seen: string[] = [];
    let refusals = 3;
    b1.produceError = (req) => {
      seen.push(req.records.map((r) => r.value?.toString()).join(','));
      return refusals-- > 0 ? throttle() : undefined;
    };
    const producer = client.producer({ lingerMs: 0 });
    const a = producer.send('muted', { value: 'a' });
    await waitFor(() => seen.length === 1, 5_000, 'a refused');
    // Sent while the partition is muted: they wait behind a (refused twice more), then go as one batch.
    const rest = ['b', 'c', 'd'].map((v) => producer.send('muted', { value: v }));
    await Promise.all([a, ...rest]);
    expect(seen).toEqual(['a', 'a', 'a', 'a', 'b,c,d']);
    expect(producer.stats().throttledRequests).toBe(3);
  });

  it('gives up with RetriesExhaustedError (TOO_MANY_REQUESTS) once throttled for longer than requestTimeoutMs', async () => {
    cluster.addTopic('full', 1, [1]);
    cluster.broker(1).produceError = () => throttle();
    const producer = client.producer({ lingerMs: 0, requestTimeoutMs: 300 });
    const err = await producer.send('full', { value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).code).toBe('TOO_MANY_REQUESTS');
    expect(producer.stats().throttledRequests).toBeGreaterThanOrEqual(2);
  });

  it('counts the time send() waited for room in a full buffer', async () => {
    cluster.addTopic('slow', 1, [1]);
    const b1 = cluster.broker(1);
    b1.holdProduce = true;
    const producer = client.producer({ lingerMs: 0, batchBytesMax: 200, bufferBytesMax: 400 });
    const first = producer.send('slow', { value: Buffer.alloc(300) });
    const second = producer.send('slow', { value: Buffer.alloc(300) });
    await waitFor(() => b1.held.length === 1, 5_000, 'first request');
    const heldFrom = Date.now();
    await waitFor(() => Date.now() - heldFrom >= 50, 5_000, '50 ms of a full buffer');
    expect(producer.stats()).toMatchObject({ bufferFullWaits: 1, bufferedBytes: expect.any(Number) });
    b1.releaseHeld();
    await first;
    await waitFor(() => b1.held.length === 1, 5_000, 'second request');
    b1.releaseHeld();
    await second;
    expect(producer.stats().bufferFullWaitMs).toBeGreaterThanOrEqual(50);
  });
});
