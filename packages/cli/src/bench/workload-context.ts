import type { BenchProgress } from './bench-progress.js';
import type { BenchSystem, BenchTopic } from './bench-system.js';
import type { Workload } from './workload.js';

/** What every workload runs with. */
export interface WorkloadContext {
  readonly system: BenchSystem;
  /** The system's disk sync policy, as stated in each result. */
  readonly fsync: string;
  readonly progress: BenchProgress;
  /** Aborted on SIGINT/SIGTERM: loops stop sending and the workload throws. */
  readonly signal: AbortSignal;
}

/** Rejects when `signal` aborts (for racing waits that have no signal of their own). */
export function whenAborted(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  return aborted;
}

/** Runs `body` on a fresh topic for the workload and deletes the topic afterwards (best effort). */
export async function withTopic<T>(ctx: WorkloadContext, workload: Workload, body: (topic: BenchTopic) => Promise<T>): Promise<T> {
  const topic = await ctx.system.createTopic(workload);
  try {
    return await body(topic);
  } finally {
    await ctx.system.deleteTopic(topic).catch(() => undefined);
  }
}
