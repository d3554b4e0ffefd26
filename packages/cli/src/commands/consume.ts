import { openClient } from '../client-factory.js';
import { EXIT_OK } from '../constants.js';
import { UsageError } from '../errors.js';
import type { CommandContext } from '../context.js';
import { consumedJson, consumedValue } from '../format.js';
import type { StartPosition } from '../parse-position.js';

export interface ConsumeOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partition?: number;
  readonly from?: StartPosition;
  /** Consume as a member of this group: partitions from the group, committed offsets (at-least-once). */
  readonly group?: string;
  readonly count?: number;
  readonly timeoutMs?: number;
  readonly json?: boolean;
}

type Stop = { readonly stop: 'signal' | 'idle' };

/**
 * `runnel consume`: prints records as they arrive; stops after --count records, after
 * --timeout-ms without a new one, or on SIGINT/SIGTERM (all exit 0).
 */
export async function consume(opts: ConsumeOptions, ctx: CommandContext): Promise<number> {
  if (opts.count === 0) return EXIT_OK;
  if (opts.group !== undefined) {
    if (opts.partition !== undefined) throw new UsageError('--partition cannot be combined with --group: the group assigns partitions');
    if (opts.from !== undefined && opts.from !== 'earliest' && opts.from !== 'latest') {
      throw new UsageError('with --group, --from is the reset policy for partitions without a committed offset: earliest or latest');
    }
  }
  const client = openClient(opts.bootstrap, ctx);
  const consumer = opts.group !== undefined
    ? client.consumer({ group: opts.group, topic: opts.topic, from: opts.from === 'earliest' ? 'earliest' : 'latest' })
    : client.consumer({
      topic: opts.topic,
      from: opts.from ?? 'latest',
      ...(opts.partition === undefined ? {} : { partitions: [opts.partition] }),
    });
  const iterator = consumer[Symbol.asyncIterator]();
  const signalled = ctx.shutdown.received.then((): Stop => ({ stop: 'signal' }));
  let received = 0;
  try {
    for (;;) {
      const next = iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const idle = opts.timeoutMs === undefined
        ? undefined
        : new Promise<Stop>((resolve) => { timer = setTimeout(() => resolve({ stop: 'idle' }), opts.timeoutMs); });
      const result = await Promise.race([next, signalled, ...(idle === undefined ? [] : [idle])]);
      clearTimeout(timer);
      if ('stop' in result) {
        // The pending next() settles when the consumer closes; nobody is waiting for it.
        next.catch(() => undefined);
        break;
      }
      if (result.done === true) break;
      const r = result.value;
      ctx.output.stdout(opts.json === true ? consumedJson(r) : consumedValue(r));
      received++;
      await ctx.output.stdoutWritable();
      if (opts.count !== undefined && received >= opts.count) break;
    }
  } finally {
    // Every record returned so far has been printed: commit them all (close alone would not count
    // the last one, whose loop body it cannot tell finished).
    if ('commit' in consumer) {
      await consumer.commit().catch((err: unknown) => ctx.output.stderr(`warning: the final commit failed: ${err instanceof Error ? err.message : String(err)}\n`));
    }
    await consumer.close();
    await client.close();
  }
  return EXIT_OK;
}
