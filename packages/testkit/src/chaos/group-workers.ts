import { RunnelClient, type ClientOptions, type ConsumedRecord, type GroupConsumer } from '@runnel/client';
import type { HistoryRecorder } from './recorder.js';

export interface GroupWorkersOptions {
  readonly topic: string;
  readonly group: string;
  readonly members: number;
  readonly client: ClientOptions;
  readonly sessionTimeoutMs: number;
  /** Commit after this many records processed by a member. */
  readonly commitEvery: number;
}

/**
 * Consumer-group members (in this process, each with its own client behind the fault proxies).
 * Processing a record is recorded as a hold of its partition (acquire before, release after), so
 * the checker sees two members processing one partition at once; commits (manual, every
 * commitEvery records) are recorded per partition with the offset committed, so it sees commits
 * going backwards.
 */
export class GroupWorkers {
  private stopped = false;
  private readonly tasks: Array<Promise<void>> = [];
  private readonly consumers: GroupConsumer[] = [];

  constructor(private readonly history: HistoryRecorder, private readonly o: GroupWorkersOptions) {}

  start(): void {
    for (let m = 0; m < this.o.members; m++) this.tasks.push(this.member(m));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.consumers.map((c) => c.close().catch(() => undefined)));
    await Promise.all(this.tasks);
  }

  private async member(index: number): Promise<void> {
    const name = `member-${index}`;
    const client = new RunnelClient({ ...this.o.client, retry: { retriesMax: 20, initialBackoffMs: 20, backoffMsMax: 500 } });
    const consumer = client.consumer({ group: this.o.group, topic: this.o.topic, from: 'earliest', autoCommit: false, sessionTimeoutMs: this.o.sessionTimeoutMs });
    this.consumers.push(consumer);
    const process = this.history.newProcess();
    // One history process per partition for commits: a process has one operation at a time.
    const commitProcess = new Map<number, number>();
    const commitProcessOf = (partition: number): number => {
      let id = commitProcess.get(partition);
      if (id === undefined) {
        id = this.history.newProcess();
        commitProcess.set(partition, id);
      }
      return id;
    };
    const positions = new Map<number, number>();
    let sinceCommit = 0;
    try {
      for await (const r of consumer as AsyncIterable<ConsumedRecord>) {
        const base = { process, group: this.o.group, member: name, partition: r.partition } as const;
        this.history.add({ type: 'ok', f: 'acquire', time: Date.now(), ...base });
        await new Promise((resolve) => setImmediate(resolve));
        this.history.add({ type: 'ok', f: 'release', time: Date.now(), ...base });
        positions.set(r.partition, r.offset + 1);
        if (++sinceCommit >= this.o.commitEvery && !this.stopped) {
          sinceCommit = 0;
          const owned = new Set(consumer.assignment().map((tp) => tp.partition));
          const pending = [...positions].filter(([p]) => owned.has(p));
          for (const [partition, offset] of pending) {
            this.history.add({ type: 'invoke', f: 'commit', process: commitProcessOf(partition), time: Date.now(), group: this.o.group, member: name, partition, offset });
          }
          try {
            await consumer.commit();
            for (const [partition, offset] of pending) {
              this.history.add({ type: 'ok', f: 'commit', process: commitProcessOf(partition), time: Date.now(), group: this.o.group, member: name, partition, offset });
            }
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            for (const [partition, offset] of pending) {
              this.history.add({ type: 'info', f: 'commit', process: commitProcessOf(partition), time: Date.now(), group: this.o.group, member: name, partition, offset, error });
              commitProcess.delete(partition);
            }
          }
        }
        if (this.stopped) break;
      }
    } catch {
      // a non-retriable consumer error ends this member; the others carry on
    } finally {
      await consumer.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }
}
