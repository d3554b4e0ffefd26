// The Python example (examples/python: grpcio + protobuf and stubs generated from proto/) against a
// real 3-broker cluster: its key hash agrees with ours, what it produces is where the TypeScript
// client reads it, it follows NOT_LEADER to the leader, and its consumer prints every record.
// Needs python3 with grpcio and protobuf, and protoc + grpc_python_plugin (or grpcio-tools). When
// they are missing, `npm test` on a machine with only Node and npm skips this file with a message
// saying what to install; with RUNNEL_REQUIRE_PYTHON=1 (what .ci/run sets, after installing them)
// it FAILS instead.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { partitionForKey } from '@runnel/protocol';
import { startCluster } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { readAll } from './support/read-all.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../examples/python/', import.meta.url));
const TOPIC = 'py-orders';
const PARTITIONS = 3;
const RECORDS = 30;
const CHILD_TIMEOUT_MS = 30_000;
const INSTALL_HINT =
  'Install them with `sudo apt-get install python3-grpcio python3-protobuf protobuf-compiler-grpc` ' +
  '(what .ci/run does; they are for /usr/bin/python3), or `python3 -m pip install grpcio protobuf grpcio-tools`. ' +
  'RUNNEL_PYTHON=/path/to/python picks the interpreter.';

/** The first interpreter that can import grpc and protobuf (pyenv shims may hide Debian's). */
function findPython(): string {
  if (pythonProblem !== undefined) throw new Error(pythonProblem);
  return pythonFound!;
}

let pythonFound: string | undefined;
const pythonProblem = ((): string | undefined => {
  try {
    pythonFound = probePython();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
})();
const REQUIRED = process.env['RUNNEL_REQUIRE_PYTHON'] === '1';
if (pythonProblem !== undefined && !REQUIRED) {
  console.warn(`SKIPPING the Python example test: ${pythonProblem}`);
}

function probePython(): string {
  const candidates = [process.env['RUNNEL_PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string => c !== undefined && c !== '');
  const tried: string[] = [];
  for (const python of new Set(candidates)) {
    const probe = spawnSync(python, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.status === 0) return python;
    tried.push(`${python}: ${(probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? 'failed')}`);
  }
  throw new Error(`The Python example test needs python3 with grpcio and protobuf. ${INSTALL_HINT}\nTried: ${tried.join('; ')}`);
}

function generateStubs(python: string): void {
  const run = spawnSync('bash', ['generate.sh'], { cwd: EXAMPLE_DIR, env: { ...process.env, PYTHON: python }, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`examples/python/generate.sh failed (${run.stderr.trim()}). ${INSTALL_HINT}`);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the example's scripts with a deadline (killed after it). */
function runPython(python: string, args: readonly string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd: EXAMPLE_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal === null ? code : null, stdout, stderr: signal === null ? stderr : `${stderr}\n(killed by ${signal} after ${CHILD_TIMEOUT_MS} ms)` });
    });
    child.stdin.end(input);
  });
}

/** `partition offset` lines. */
function parseAcks(stdout: string): Array<{ partition: number; offset: number }> {
  return stdout.trim().split('\n').map((line) => {
    const [partition, offset] = line.split(' ').map(Number);
    return { partition: partition!, offset: offset! };
  });
}


const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe.skipIf(pythonProblem !== undefined && !REQUIRED)('the Python example', () => {
  let python: string;
  let cluster: Cluster;
  let client: RunnelClient;
  /** value -> where the Python producer said it landed. */
  const produced = new Map<string, { partition: number; offset: number }>();

  beforeAll(async () => {
    python = findPython();
    generateStubs(python);
    cluster = await startCluster({ brokers: 3 });
    client = new RunnelClient({ bootstrap: cluster.bootstrap });
    await client.admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('hashes keys like partitionForKey (documented vectors and more keys)', async () => {
    const selfTest = await runPython(python, ['producer.py', '--self-test']);
    expect(selfTest, selfTest.stderr).toMatchObject({ code: 0 });
    const keys = ['21', 'foobar', 'customer-42', 'a', 'ab', 'abc', 'ключ', 'emoji-🙂', 'x'.repeat(301)];
    for (const count of [1, 3, 7, 12, 1000]) {
      const run = await runPython(python, ['partitioning.py', '--partitions', String(count), ...keys]);
      expect(run.code, run.stderr).toBe(0);
      const got = run.stdout.trim().split('\n').map((line) => Number(line.split('\t')[0]));
      expect(got, `${count} partitions`).toEqual(keys.map((k) => partitionForKey(utf8(k), count)));
    }
  });

  it('produces keyed records to each partition leader, at the offsets the TypeScript client reads', async () => {
    const records = Array.from({ length: RECORDS }, (_, i) => ({ key: `customer-${i % 7}`, value: `order-${i}` }));
    const run = await runPython(python, ['producer.py', '--bootstrap', cluster.bootstrap, '--topic', TOPIC, '--key-separator', ':'],
      records.map((r) => `${r.key}:${r.value}\n`).join(''));
    expect(run.code, run.stderr).toBe(0);
    const acks = parseAcks(run.stdout);
    expect(acks).toHaveLength(RECORDS);
    records.forEach((r, i) => {
      expect(acks[i]!.partition, r.key).toBe(partitionForKey(utf8(r.key), PARTITIONS));
      produced.set(r.value, acks[i]!);
    });

    const read = await readAll(client, TOPIC, RECORDS, 20_000);
    expect(new Map(read.map((r) => [r.value.toString(), { partition: r.partition, offset: r.offset }]))).toEqual(produced);
    for (const r of read) expect(r.key?.toString(), r.value.toString()).toBe(records.find((s) => s.value === r.value.toString())!.key);
  });

  it('follows NOT_LEADER from a broker that does not lead the partition', async () => {
    const key = 'customer-redirected';
    const partition = partitionForKey(utf8(key), PARTITIONS);
    const leaderId = (await client.admin.describeTopic(TOPIC)).partitions[partition]!.leader;
    const leader = cluster.node(leaderId);
    const other = cluster.brokers.find((b) => b.id !== leaderId)!;
    const run = await runPython(python, ['producer.py', '--bootstrap', cluster.bootstrap, '--topic', TOPIC, '--key-separator', ':', '--broker', other.address],
      `${key}:redirected\n`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`NOT_LEADER from ${other.address} for ${TOPIC}/${partition}: following the leader, broker ${leaderId} at ${leader.address}`);
    const [ack] = parseAcks(run.stdout);
    expect(ack!.partition).toBe(partition);
    produced.set('redirected', ack!);
    const read = await readAll(client, TOPIC, produced.size, 20_000);
    expect(read.find((r) => r.value.toString() === 'redirected')).toMatchObject(ack!);
  });

  it('bootstraps from a broker too (GetMetadata when the address serves no Coordinator)', async () => {
    const run = await runPython(python, ['producer.py', '--bootstrap', cluster.brokers[2]!.address, '--topic', TOPIC, '--key', 'via-broker'], 'from-broker\n');
    expect(run.code, run.stderr).toBe(0);
    const [ack] = parseAcks(run.stdout);
    expect(ack!.partition).toBe(partitionForKey(utf8('via-broker'), PARTITIONS));
    produced.set('from-broker', ack!);
  });

  it('consumes every record from earliest with Subscribe, following NOT_LEADER to each leader', async () => {
    const start = cluster.brokers[0]!;
    const led = (await client.admin.describeTopic(TOPIC)).partitions.filter((p) => p.leader !== start.id).map((p) => p.partition);
    const run = await runPython(python, ['consumer.py', '--bootstrap', cluster.bootstrap, '--topic', TOPIC, '--from', 'earliest',
      '--count', String(produced.size), '--print-offsets', '--timeout-ms', '15000', '--broker', start.address]);
    expect(run.code, run.stderr).toBe(0);
    const printed = new Map(run.stdout.trim().split('\n').map((line) => {
      const [partition, offset, value] = line.split(' ');
      return [value!, { partition: Number(partition), offset: Number(offset) }];
    }));
    expect(printed).toEqual(produced);
    for (const p of led) expect(run.stderr).toContain(`NOT_LEADER from ${start.address} for ${TOPIC}/${p}:`);
  });

  it('fails with a clear message on bad input', async () => {
    const unknown = await runPython(python, ['producer.py', '--bootstrap', cluster.bootstrap, '--topic', 'no-such-topic'], 'x\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: UNKNOWN_TOPIC: no topic named 'no-such-topic'/m);
    const badCount = await runPython(python, ['consumer.py', '--bootstrap', cluster.bootstrap, '--topic', TOPIC, '--count', '0']);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toContain('--count must be at least 1');
    const badAddress = await runPython(python, ['producer.py', '--bootstrap', 'localhost', '--topic', TOPIC]);
    expect(badAddress.code).toBe(2);
    expect(badAddress.stderr).toContain("--bootstrap: expected host:port, got 'localhost'");
    const outOfRange = await runPython(python, ['consumer.py', '--bootstrap', cluster.bootstrap, '--topic', TOPIC, '--partition', '0', '--from', '100000', '--count', '1']);
    expect(outOfRange.code).toBe(1);
    expect(outOfRange.stderr).toMatch(/^error: OFFSET_OUT_OF_RANGE: /m);
  });
});
