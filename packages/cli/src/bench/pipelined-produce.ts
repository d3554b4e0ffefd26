import { performance } from 'node:perf_hooks';
import { SendWindow } from '../send-window.js';
import type { BenchProducer } from './bench-system.js';
import { IN_FLIGHT_BYTES_MAX, PROGRESS_EVERY_RECORDS } from './constants.js';

export interface PipelineOptions {
  /** Records to send. */
  readonly count: number;
  /** Records sent but not yet acknowledged, at most. */
  readonly inFlightRecordsMax: number;
  /** Bytes of each value (for the byte bound of the window). */
  readonly recordBytes: number;
  /** The value of record i (called just before it is sent). */
  readonly valueFor: (index: number) => Buffer;
  /** Called with the number acknowledged so far, every few hundred records. */
  readonly onProgress?: (acknowledged: number) => void;
  /** Stops sending when aborted (what was sent is still awaited). */
  readonly signal?: AbortSignal;
}

/**
 * Sends `count` records with a bounded window of unacknowledged ones, waits for every
 * acknowledgement, and returns the seconds from the first send to the last acknowledgement.
 * Throws the first failure (after waiting for what is in flight).
 */
export async function producePipelined(producer: BenchProducer, options: PipelineOptions): Promise<number> {
  let acknowledged = 0;
  let failure: { readonly error: unknown } | undefined;
  const window = new SendWindow<unknown>(options.inFlightRecordsMax, IN_FLIGHT_BYTES_MAX, (_index, outcome) => {
    if (!outcome.ok) {
      failure ??= { error: outcome.error };
      return;
    }
    acknowledged++;
    if (acknowledged % PROGRESS_EVERY_RECORDS === 0) options.onProgress?.(acknowledged);
  });
  const started = performance.now();
  for (let i = 0; i < options.count && failure === undefined && options.signal?.aborted !== true; i++) {
    await window.push(i, options.recordBytes, producer.send(options.valueFor(i)));
  }
  await producer.flush().catch(() => undefined);
  await window.drain();
  const seconds = (performance.now() - started) / 1000;
  if (failure !== undefined) throw failure.error;
  options.signal?.throwIfAborted();
  options.onProgress?.(acknowledged);
  return seconds;
}
