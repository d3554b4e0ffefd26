import { describe, expect, it } from 'vitest';
import { ConfigError, parseCoordinatorConfig } from '../src/index.js';

function problem(raw: Record<string, unknown>): ConfigError {
  try {
    parseCoordinatorConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseCoordinatorConfig', () => {
  it('fills in defaults and freezes', () => {
    const c = parseCoordinatorConfig({ dataDir: '/tmp/x' });
    expect(c).toEqual({ dataDir: '/tmp/x', host: '127.0.0.1', port: 7400, sessionTimeoutMs: 3000, heartbeatIntervalMs: 500, preferredLeaderCheckIntervalMs: 5000, logLevel: 'info', metricsPort: 0, metricsHost: undefined });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('accepts strings from flags and environment', () => {
    const c = parseCoordinatorConfig({ dataDir: 'd', port: '0', sessionTimeoutMs: '400', heartbeatIntervalMs: '100', logLevel: 'silent' });
    expect(c).toMatchObject({ port: 0, sessionTimeoutMs: 400, heartbeatIntervalMs: 100, logLevel: 'silent' });
  });

  it('names the flag of every bad value', () => {
    expect(problem({}).flag).toBe('--data-dir');
    expect(problem({ dataDir: 'd', port: 65536 }).flag).toBe('--port');
    expect(problem({ dataDir: 'd', port: -1 }).flag).toBe('--port');
    expect(problem({ dataDir: 'd', port: '12x' }).message).toBe('--port: must be a whole number');
    expect(problem({ dataDir: 'd', logLevel: 'loud' }).flag).toBe('--log-level');
    expect(problem({ dataDir: 'd', sessionTimeoutMs: 10 }).flag).toBe('--session-timeout-ms');
  });

  it('rejects unknown keys', () => {
    const e = problem({ dataDir: 'd', brokerCount: 3 });
    expect(e.flag).toBe('--broker-count');
    expect(e.message).toMatch(/unknown option/);
  });

  it('requires heartbeat interval < session timeout / 2', () => {
    const e = problem({ dataDir: 'd', sessionTimeoutMs: 1000, heartbeatIntervalMs: 500 });
    expect(e.flag).toBe('--heartbeat-interval-ms');
    expect(e.message).toMatch(/less than half of --session-timeout-ms/);
    expect(parseCoordinatorConfig({ dataDir: 'd', sessionTimeoutMs: 1000, heartbeatIntervalMs: 499 }).heartbeatIntervalMs).toBe(499);
  });
});
