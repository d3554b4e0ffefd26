import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ERRORS, NotLeaderError, RunnelError, fromErrorMessage, fromServiceError, toErrorMessage, toGrpcStatus, normaliseError } from '@runnel/protocol';

const DOC = fs.readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('error table', () => {
  it('documents every code with its status and retriable flag', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      const row = DOC.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, `docs/errors.md lacks ${code}`).toBeDefined();
      expect(row).toContain(`| ${grpc.status[e.status]} |`);
      expect(row).toContain(e.retriable ? '| yes |' : '| no |');
    }
  });

  it('round-trips through gRPC trailers, keeping the leader hint', () => {
    const err = new NotLeaderError('orders', 2, 3, '127.0.0.1:7403');
    const status = toGrpcStatus(err);
    const back = fromServiceError({ code: status.code, details: status.details, metadata: status.metadata } as grpc.ServiceError);
    expect(back.code).toBe('NOT_LEADER');
    expect(back.retriable).toBe(true);
    expect(back.leaderId).toBe(3);
    expect(back.leaderAddress).toBe('127.0.0.1:7403');
    expect(back.message).toContain('orders/2');
  });

  it('round-trips through the in-stream Error message', () => {
    const err = new RunnelError('RECORD_TOO_LARGE', 'record 3 is 2000000 bytes; the topic allows 1048576');
    const back = fromErrorMessage(toErrorMessage(err));
    expect(back.code).toBe('RECORD_TOO_LARGE');
    expect(back.retriable).toBe(false);
    expect(back.message).toBe(err.message);
  });

  it('maps transport failures without trailers to retriable codes', () => {
    expect(fromServiceError({ code: grpc.status.UNAVAILABLE, details: 'connect ECONNREFUSED', metadata: new grpc.Metadata() }).code).toBe('UNREACHABLE');
    expect(fromServiceError({ code: grpc.status.DEADLINE_EXCEEDED, details: 'x', metadata: new grpc.Metadata() }).retriable).toBe(true);
  });

  it('normalises unknown throwables to INTERNAL, keeping the cause', () => {
    const cause = new TypeError('boom');
    const n = normaliseError(cause);
    expect(n.code).toBe('INTERNAL');
    expect(n.cause).toBe(cause);
    expect(n.message).not.toContain('boom');
  });
});
