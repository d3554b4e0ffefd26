import { RunnelClient, RunnelError, type ClientOptions } from '@runnel/client';
import type { HistoryRecorder } from './recorder.js';

/** Codes that mean the broker refused the record before appending it: definitely not written. */
const DEFINITE_FAILURES = new Set([
  'INVALID_REQUEST', 'INVALID_TOPIC_NAME', 'UNKNOWN_TOPIC', 'UNKNOWN_PARTITION', 'RECORD_TOO_LARGE', 'BATCH_TOO_LARGE', 'EMPTY_BATCH',
]);

export interface ProduceWorkersOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly workers: number;
  readonly client: ClientOptions;
  /** Pause between two operations of one worker (ms); 0 = as fast as acks come. */
  readonly pauseMs: number;
  /** A single operation's deadline (ms). */
  readonly requestTimeoutMs: number;
}

/**
 * Producers with QUORUM acks, each worker one operation at a time, every value unique
 * (`p<process>-<n>`). No client retries: one attempt per operation, so an operation's outcome is
 * exactly what the history says. `fail` only for a definite refusal; a deadline, a lost connection,
 * NOT_LEADER (a deposed leader may have appended) or UNAVAILABLE is `info`, and the worker carries
 * on as a new process with a fresh client.
 */
export class ProduceWorkers {
  private stopped = false;
  private readonly tasks: Array<Promise<void>> = [];

  constructor(private readonly history: HistoryRecorder, private readonly o: ProduceWorkersOptions) {}

  start(): void {
    for (let w = 0; w < this.o.workers; w++) this.tasks.push(this.worker(w));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.tasks);
  }

  private newClient(): RunnelClient {
    return new RunnelClient({ ...this.o.client, requestTimeoutMs: this.o.requestTimeoutMs, retry: { retriesMax: 0, initialBackoffMs: 10, backoffMsMax: 100 } });
  }

  private async worker(w: number): Promise<void> {
    let client = this.newClient();
    let producer = client.producer({ acks: 'quorum', lingerMs: 0, requestTimeoutMs: this.o.requestTimeoutMs });
    let process = this.history.newProcess();
    let n = 0;
    try {
      while (!this.stopped && !this.history.full) {
        const partition = (w + n) % this.o.partitions;
        const value = `p${process}-${n++}`;
        this.history.add({ type: 'invoke', f: 'produce', process, time: Date.now(), partition, value });
        try {
          const [meta] = await producer.send(this.o.topic, { value, partition });
          this.history.add({ type: 'ok', f: 'produce', process, time: Date.now(), partition, value, offset: meta!.offset, attempts: 1 });
        } catch (err) {
          const code = err instanceof RunnelError ? err.code : 'INTERNAL';
          const definite = DEFINITE_FAILURES.has(code);
          this.history.add({ type: definite ? 'fail' : 'info', f: 'produce', process, time: Date.now(), partition, value, error: code });
          if (!definite) {
            // Unknown outcome: this process is done; a new one carries on with a fresh client.
            await client.close().catch(() => undefined);
            client = this.newClient();
            producer = client.producer({ acks: 'quorum', lingerMs: 0, requestTimeoutMs: this.o.requestTimeoutMs });
            process = this.history.newProcess();
            n = 0;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
        if (this.o.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, this.o.pauseMs));
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}
