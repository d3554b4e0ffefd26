import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildProgram } from '../src/program.js';
import type { CommandContext } from '../src/context.js';
import { memoryOutput } from '../src/output.js';
import { checkProduceOptions } from '../src/commands/produce.js';
import { UsageError } from '../src/errors.js';

interface Parsed {
  command: string;
  options: Readonly<Record<string, unknown>>;
}

/** Parses argv like the real command, without running anything. */
async function parse(argv: string[], bootstrap = '127.0.0.1:7400'): Promise<{ parsed: Parsed | undefined; error: unknown; err: string }> {
  const output = memoryOutput();
  const ctx: CommandContext = {
    output,
    stdin: (async function* () {})(),
    cwd: '/tmp',
    logger: pino({ level: 'silent' }),
    shutdown: { received: new Promise(() => undefined), onRepeat: () => undefined },
  };
  let parsed: Parsed | undefined;
  const program = buildProgram({ bootstrap }, ctx, async (command, options) => {
    parsed = { command, options };
  });
  let error: unknown;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    error = e;
  }
  return { parsed, error, err: output.err.join('') };
}

describe('option parsing', () => {
  it('cluster up has the documented defaults', async () => {
    const { parsed } = await parse(['cluster', 'up']);
    expect(parsed).toEqual({ command: 'cluster up', options: { brokers: 3, dataDir: './data', basePort: 7400, logLevel: 'info' } });
  });

  it('cluster up takes every flag', async () => {
    const { parsed } = await parse(['cluster', 'up', '--brokers', '5', '--data-dir', 'x', '--base-port', '9000', '--session-timeout-ms', '1500', '--fsync', 'interval:20', '--log-level', 'debug']);
    expect(parsed?.options).toEqual({ brokers: 5, dataDir: 'x', basePort: 9000, sessionTimeoutMs: 1500, fsync: 'interval:20', logLevel: 'debug' });
  });

  it('topic create parses numbers and takes --bootstrap', async () => {
    const { parsed } = await parse(['topic', 'create', 'demo', '--partitions', '3', '--replication', '1', '--retention-ms', '-1', '--max-message-bytes', '1000', '--bootstrap', 'localhost:9999']);
    expect(parsed).toEqual({
      command: 'topic create',
      options: { name: 'demo', partitions: 3, replication: 1, retentionMs: -1, maxMessageBytes: 1000, bootstrap: 'localhost:9999' },
    });
  });

  it('--bootstrap defaults to what main passes (RUNNEL_BOOTSTRAP)', async () => {
    const { parsed } = await parse(['topic', 'list', '--json'], '10.0.0.1:7000');
    expect(parsed?.options).toEqual({ json: true, bootstrap: '10.0.0.1:7000' });
  });

  it('produce and consume parse acks, positions and counts', async () => {
    expect((await parse(['produce', '--topic', 't', '--acks', 'ALL', '--partition', '2', '--json'])).parsed?.options)
      .toMatchObject({ topic: 't', acks: 'all', partition: 2, json: true });
    expect((await parse(['consume', '--topic', 't', '--from', 'earliest', '--count', '10', '--timeout-ms', '500'])).parsed?.options)
      .toMatchObject({ topic: 't', from: 'earliest', count: 10, timeoutMs: 500 });
    expect((await parse(['consume', '--topic', 't', '--from', '42'])).parsed?.options).toMatchObject({ from: { offset: 42 } });
  });

  it.each([
    [['topic', 'create', 'demo']],
    [['topic', 'create', 'demo', '--partitions', 'three']],
    [['topic', 'create', 'demo', '--partitions', '0']],
    [['produce', '--topic', 't', '--acks', 'some']],
    [['consume', '--topic', 't', '--from', 'yesterday']],
    [['cluster', 'up', '--fsync', 'sometimes']],
    [['cluster', 'up', '--brokers', '-1']],
    [['topic', 'list', '--bootstrap', 'nohost']],
    [['topic', 'list', '--nope']],
  ])('rejects %j as a usage error', async (argv) => {
    const { parsed, error, err } = await parse(argv);
    expect(parsed).toBeUndefined();
    expect(error).toMatchObject({ exitCode: 1 }); // main turns every CommanderError but help into exit 2
    expect(err).toMatch(/error:/);
  });

  it('a malformed --from names the accepted forms', async () => {
    const { err } = await parse(['consume', '--topic', 't', '--from', 'yesterday']);
    expect(err).toContain('earliest, latest, an offset');
  });

  it('produce --count needs --size, and --json does not combine with them', () => {
    expect(() => checkProduceOptions({ bootstrap: 'a:1', topic: 't', count: 5 })).toThrow(UsageError);
    expect(() => checkProduceOptions({ bootstrap: 'a:1', topic: 't', count: 5, size: 10, json: true })).toThrow(UsageError);
    expect(() => checkProduceOptions({ bootstrap: 'a:1', topic: 't', count: 5, size: 10 })).not.toThrow();
    expect(() => checkProduceOptions({ bootstrap: 'a:1', topic: 't' })).not.toThrow();
  });
});
