import { describe, expect, it } from 'vitest';
import { NotLeaderError, RunnelError } from '@runnel/protocol';
import { PendingProduces } from '../src/pending-produces.js';

function pendingOne(p: PendingProduces): { id: number; outcome: Promise<unknown> } {
  const id = p.nextId();
  const outcome = new Promise((resolve, reject) => {
    p.add(id, { sizeBytes: 10, recordCount: 1, leaderEpoch: 3, appendTimeMs: 0, resolve, reject });
  });
  return { id, outcome: outcome.then(() => 'ok', (e: unknown) => e) };
}

describe('PendingProduces', () => {
  it('answers an appended produce failed by a lost leadership with LEADERSHIP_LOST, keeping the new leader hint', async () => {
    const p = new PendingProduces();
    const { id, outcome } = pendingOne(p);
    p.settle({ produceId: id, error: 'NOT_LEADER' }, () => new NotLeaderError('t', 0, 2, '127.0.0.1:7402'));
    const err = (await outcome) as RunnelError;
    expect(err.code).toBe('LEADERSHIP_LOST');
    expect(err.retriable).toBe(true);
    expect(err.leaderId).toBe(2);
    expect(err.leaderAddress).toBe('127.0.0.1:7402');
    expect(err.message).toMatch(/may still commit/);
  });

  it('does the same when the hint comes later, and for produces failed all at once; other codes pass as they are', async () => {
    const p = new PendingProduces();
    const later = pendingOne(p);
    p.settle({ produceId: later.id, error: 'NOT_LEADER' }, () => Promise.resolve(new NotLeaderError('t', 0, -1, undefined)));
    expect(((await later.outcome) as RunnelError).code).toBe('LEADERSHIP_LOST');
    const timeout = pendingOne(p);
    p.settle({ produceId: timeout.id, error: 'TIMEOUT' }, () => new RunnelError('TIMEOUT', 'not in time'));
    expect(((await timeout.outcome) as RunnelError).code).toBe('TIMEOUT');
    const a = pendingOne(p);
    const b = pendingOne(p);
    p.failAll(new NotLeaderError('t', 0, 1, 'x:1'));
    expect(((await a.outcome) as RunnelError).code).toBe('LEADERSHIP_LOST');
    expect(((await b.outcome) as RunnelError).code).toBe('LEADERSHIP_LOST');
    const c = pendingOne(p);
    p.failAll(new RunnelError('SHUTTING_DOWN', 'bye'));
    expect(((await c.outcome) as RunnelError).code).toBe('SHUTTING_DOWN');
  });
});
