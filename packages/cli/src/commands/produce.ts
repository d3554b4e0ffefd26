import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ProducerRecord } from '@runnel/client';
import { openClient } from '../client-factory.js';
import {
  EXIT_FAILURE, EXIT_OK, LATENCY_SAMPLES_MAX, PRODUCE_WINDOW_BYTES_MAX, PRODUCE_WINDOW_RECORDS_MAX,
} from '../constants.js';
import type { CommandContext } from '../context.js';
import { UsageError, formatError } from '../errors.js';
import { formatThroughput, percentile, producedJson } from '../format.js';
import { readLines } from '../line-reader.js';
import type { Acks } from '../options.js';
import { SendWindow } from '../send-window.js';
import type { SendOutcome } from '../send-window.js';

export interface ProduceOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly key?: string;
  readonly partition?: number;
  readonly acks?: Acks;
  readonly json?: boolean;
  readonly count?: number;
  readonly size?: number;
}

interface Landed {
  readonly partition: number;
  readonly offset: number;
}

/** Checks flag combinations commander cannot express. */
export function checkProduceOptions(opts: ProduceOptions): void {
  if ((opts.count === undefined) !== (opts.size === undefined)) throw new UsageError('--count and --size go together (synthetic load); leave both out to read records from stdin');
  if (opts.count !== undefined && opts.json === true) throw new UsageError('--json prints the offsets of records read from stdin; it does not apply to --count');
}

/** `runnel produce`: records from stdin (one per line), or `--count N --size B` synthetic ones. */
export async function produce(opts: ProduceOptions, ctx: CommandContext): Promise<number> {
  checkProduceOptions(opts);
  const client = openClient(opts.bootstrap, ctx);
  const producer = client.producer(opts.acks === undefined ? {} : { acks: opts.acks });
  try {
    return opts.count !== undefined && opts.size !== undefined
      ? await produceSynthetic(producer, opts, opts.count, opts.size, ctx)
      : await produceLines(producer, opts, ctx);
  } finally {
    await producer.close();
    await client.close();
  }
}

interface ProducerLike {
  send(topic: string, records: ProducerRecord | ProducerRecord[]): Promise<Landed[]>;
  flush(): Promise<void>;
}

function baseRecord(opts: ProduceOptions, value: Buffer): ProducerRecord {
  const record: ProducerRecord = { value };
  if (opts.key !== undefined) record.key = opts.key;
  if (opts.partition !== undefined) record.partition = opts.partition;
  return record;
}

async function flushQuietly(producer: ProducerLike): Promise<void> {
  // Failures surface through each send's own promise.
  await producer.flush().catch(() => undefined);
}

async function produceLines(producer: ProducerLike, opts: ProduceOptions, ctx: CommandContext): Promise<number> {
  let acked = 0;
  let failed = 0;
  let bytes = 0;
  let read = 0;
  const started = performance.now();
  const window = new SendWindow<Landed[]>(PRODUCE_WINDOW_RECORDS_MAX, PRODUCE_WINDOW_BYTES_MAX, (index, outcome: SendOutcome<Landed[]>) => {
    if (outcome.ok) {
      acked++;
      const landed = outcome.value[0];
      if (opts.json === true && landed !== undefined) ctx.output.stdout(producedJson(landed.partition, landed.offset));
    } else {
      failed++;
      if (failed === 1) ctx.output.stderr(`${formatError(outcome.error)} (input line ${index + 1})\n`);
    }
  });
  for await (const line of readLines(ctx.stdin)) {
    // The client already retried what can be retried: stop reading at the first failed record.
    if (failed > 0) break;
    bytes += line.length;
    await window.push(read, line.length, producer.send(opts.topic, baseRecord(opts, line)));
    read++;
    if (opts.json === true) await ctx.output.stdoutWritable();
  }
  await flushQuietly(producer);
  await window.drain();
  const seconds = (performance.now() - started) / 1000;
  if (failed > 0) {
    const done = opts.acks === 'none' ? 'sent (not acknowledged: --acks none)' : 'acknowledged';
    ctx.output.stderr(`error: ${failed} record(s) failed, ${acked} ${done}; stopped reading input after the first failure\n`);
    return EXIT_FAILURE;
  }
  if (opts.json !== true) ctx.output.stderr(formatThroughput({ records: acked, failed, bytes, seconds, acks: opts.acks ?? 'quorum' }));
  return EXIT_OK;
}

async function produceSynthetic(producer: ProducerLike, opts: ProduceOptions, count: number, size: number, ctx: CommandContext): Promise<number> {
  // Printable, so `runnel consume` of a benchmark topic shows one line per record.
  const value = Buffer.from(randomBytes(size).map((b) => 0x61 + (b % 26)));
  const every = Math.ceil(count / LATENCY_SAMPLES_MAX);
  const samples = new Float64Array(Math.ceil(count / every));
  let sampled = 0;
  let acked = 0;
  let failed = 0;
  const window = new SendWindow<Landed[]>(PRODUCE_WINDOW_RECORDS_MAX, PRODUCE_WINDOW_BYTES_MAX, (_index, outcome) => {
    if (outcome.ok) acked++;
    else {
      failed++;
      if (failed === 1) ctx.output.stderr(`${formatError(outcome.error)}\n`);
    }
  });
  const started = performance.now();
  for (let i = 0; i < count && failed === 0; i++) {
    const sentAt = performance.now();
    let send = producer.send(opts.topic, baseRecord(opts, value));
    if (i % every === 0) {
      send = send.then((landed) => {
        samples[sampled++] = performance.now() - sentAt;
        return landed;
      });
    }
    await window.push(i, size, send);
  }
  await flushQuietly(producer);
  await window.drain();
  const seconds = (performance.now() - started) / 1000;
  const latencies = samples.subarray(0, sampled);
  const summary = formatThroughput({
    records: acked, failed, bytes: acked * size, seconds, acks: opts.acks ?? 'quorum',
    ...(sampled > 0 ? { latencyMsP50: percentile(latencies, 50), latencyMsP99: percentile(latencies, 99) } : {}),
  });
  ctx.output.stdout(summary);
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}
