// --subscriptions-max / --produce-streams-max: defaults, and bad values refused naming the flag.
// test/overload-connections.test.ts checks on a real broker that the limits refuse the next stream.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseBrokerConfig } from '../src/config.js';
import { DEFAULT_PRODUCE_STREAMS_MAX, DEFAULT_SUBSCRIPTIONS_MAX } from '../src/constants.js';

function refusal(raw: Record<string, unknown>): ConfigError {
  try {
    parseBrokerConfig({ id: '1', dataDir: 'd', ...raw });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('stream limit flags', () => {
  it('default to DEFAULT_SUBSCRIPTIONS_MAX and DEFAULT_PRODUCE_STREAMS_MAX and take whole numbers from 1', () => {
    const c = parseBrokerConfig({ id: '1', dataDir: 'd' });
    expect([c.subscriptionsMax, c.produceStreamsMax]).toEqual([DEFAULT_SUBSCRIPTIONS_MAX, DEFAULT_PRODUCE_STREAMS_MAX]);
    const set = parseBrokerConfig({ id: '1', dataDir: 'd', subscriptionsMax: '1000', produceStreamsMax: 1 });
    expect([set.subscriptionsMax, set.produceStreamsMax]).toEqual([1000, 1]);
  });

  it('refuses 0, negatives, fractions and words, naming the flag', () => {
    expect(refusal({ subscriptionsMax: '0' }).message).toBe('--subscriptions-max: must be at least 1');
    expect(refusal({ produceStreamsMax: '-5' }).flag).toBe('--produce-streams-max');
    expect(refusal({ produceStreamsMax: '2.5' }).message).toBe('--produce-streams-max: must be a whole number');
    expect(refusal({ subscriptionsMax: 'many' }).flag).toBe('--subscriptions-max');
    expect(refusal({ subscriptionsMax: '1000001' }).message).toBe('--subscriptions-max: must be at most 1000000');
  });
});
