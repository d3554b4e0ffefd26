import type { RunnelClient } from '@runnel/client';
import type { Cluster } from '../cluster.js';
import type { HistoryRecorder } from './recorder.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'restart', 'coordinator', 'powerloss', 'delay'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A fault as it happened, for the report. */
export interface FaultRecord {
  readonly kind: string;
  readonly description: string;
  readonly startMs: number;
  endMs: number;
}

/**
 * What a nemesis works with: fault primitives that record themselves in the history, the control
 * client (real addresses, never behind the fault proxies), and a seeded random source.
 */
export class ChaosContext {
  readonly faults: FaultRecord[] = [];
  private readonly paused = new Set<number>();
  private readonly down = new Set<string>();

  constructor(
    readonly cluster: Cluster,
    readonly history: HistoryRecorder,
    readonly control: RunnelClient,
    readonly topic: string,
    readonly random: () => number,
    readonly sessionTimeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  get aborted(): boolean {
    return this.signal.aborted;
  }

  /** Sleeps `ms`, or less if the run is being stopped. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.random() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  between(minMs: number, maxMs: number): number {
    return Math.floor(minMs + this.random() * (maxMs - minMs));
  }

  brokerIds(): number[] {
    return this.cluster.brokers.map((b) => b.id);
  }

  /** Current leader of a partition by the coordinator (control path); -1 if none or unreachable. */
  async leaderOf(partition: number): Promise<number> {
    try {
      const t = await this.control.admin.describeTopic(this.topic);
      return t.partitions.find((p) => p.partition === partition)?.leader ?? -1;
    } catch {
      return -1;
    }
  }

  /** The leader of `partition`, or a random broker when none is known. */
  async leaderOrAny(partition = 0): Promise<number> {
    const l = await this.leaderOf(partition);
    return l > 0 ? l : this.pick(this.brokerIds());
  }

  begin(kind: string, description: string): FaultRecord {
    const f: FaultRecord = { kind, description, startMs: Date.now(), endMs: Number.NaN };
    this.faults.push(f);
    this.history.nemesis(`start ${description}`);
    return f;
  }

  end(f: FaultRecord, note = ''): void {
    f.endMs = Date.now();
    this.history.nemesis(`end ${f.description}${note}`);
  }

  // ---- primitives (each records itself)

  async kill(id: number): Promise<void> {
    await this.cluster.kill(id);
    this.down.add(`broker-${id}`);
  }

  async powerLoss(id: number): Promise<void> {
    await this.cluster.powerLoss(id);
    this.down.add(`broker-${id}`);
  }

  async killCoordinator(): Promise<void> {
    await this.cluster.kill('coordinator');
    this.down.add('coordinator');
  }

  pause(id: number): void {
    this.cluster.pause(id);
    this.paused.add(id);
  }

  resume(id: number): void {
    if (this.paused.delete(id)) this.cluster.resume(id);
  }

  async start(name: string): Promise<void> {
    const ref = name === 'coordinator' ? 'coordinator' : Number(name.slice('broker-'.length));
    await this.cluster.restart(ref);
    this.down.delete(name);
  }

  /** Heals everything: network, paused and dead nodes (coordinator first). */
  async healAll(): Promise<void> {
    this.cluster.network?.heal();
    for (const id of [...this.paused]) this.resume(id);
    if (this.down.has('coordinator')) await this.start('coordinator');
    for (const name of [...this.down]) await this.start(name);
  }
}

/** Runs one fault of `kind` against the cluster: inject, hold, heal. */
export async function injectFault(ctx: ChaosContext, kind: FaultKind): Promise<void> {
  const net = ctx.cluster.network;
  switch (kind) {
    case 'kill': {
      const id = await ctx.leaderOrAny(ctx.pick([0, 0, 1, 2]));
      const f = ctx.begin(kind, `kill -9 broker-${id}`);
      await ctx.kill(id);
      await ctx.sleep(ctx.between(500, 3_000));
      await ctx.start(`broker-${id}`);
      ctx.end(f, ', restarted');
      return;
    }
    case 'powerloss': {
      const id = await ctx.leaderOrAny(ctx.pick([0, 1, 2]));
      const f = ctx.begin(kind, `power loss of broker-${id}`);
      await ctx.powerLoss(id);
      await ctx.sleep(ctx.between(500, 2_000));
      await ctx.start(`broker-${id}`);
      ctx.end(f, ', restarted');
      return;
    }
    case 'pause': {
      const id = await ctx.leaderOrAny(0);
      const f = ctx.begin(kind, `SIGSTOP broker-${id}`);
      ctx.pause(id);
      await ctx.sleep(ctx.sessionTimeoutMs + ctx.between(300, 2_000));
      ctx.resume(id);
      ctx.end(f, ', SIGCONT');
      return;
    }
    case 'restart': {
      const id = ctx.pick(ctx.brokerIds());
      const f = ctx.begin(kind, `restart (SIGTERM) broker-${id}`);
      await ctx.start(`broker-${id}`);
      ctx.end(f);
      return;
    }
    case 'coordinator': {
      const f = ctx.begin(kind, 'kill -9 coordinator');
      await ctx.killCoordinator();
      await ctx.sleep(ctx.between(500, 2_500));
      await ctx.start('coordinator');
      ctx.end(f, ', restarted');
      return;
    }
    case 'partition': {
      if (net === undefined) throw new Error('partition faults need networkFaults');
      const leader = await ctx.leaderOrAny(0);
      const others = ctx.brokerIds().filter((b) => b !== leader);
      const shape = ctx.pick(['isolate', 'leader-from-followers', 'leader-from-coordinator', 'bridge'] as const);
      let f;
      if (shape === 'isolate') {
        f = ctx.begin(kind, `isolate broker-${leader}`);
        net.isolate(`broker-${leader}`);
      } else if (shape === 'leader-from-followers') {
        f = ctx.begin(kind, `cut broker-${leader} from its followers`);
        for (const o of others) net.cut(`broker-${leader}`, `broker-${o}`);
      } else if (shape === 'leader-from-coordinator') {
        f = ctx.begin(kind, `cut broker-${leader} from the coordinator only`);
        net.cut(`broker-${leader}`, 'coordinator');
      } else {
        const [a, c] = [leader, others[0] ?? leader];
        f = ctx.begin(kind, `bridge: cut broker-${a} from broker-${c}, both reach the rest`);
        net.cut(`broker-${a}`, `broker-${c}`);
      }
      await ctx.sleep(ctx.between(1_000, 4_000));
      net.heal();
      ctx.end(f, ', healed');
      return;
    }
    case 'delay': {
      if (net === undefined) throw new Error('delay faults need networkFaults');
      const id = await ctx.leaderOrAny(0);
      const ms = ctx.between(100, 500);
      const f = ctx.begin(kind, `delay every link of broker-${id} by ${ms} ms (jitter ${Math.floor(ms / 2)} ms)`);
      for (const peer of [...ctx.brokerIds().filter((b) => b !== id).map((b) => `broker-${b}`), 'coordinator', 'client']) net.delay(`broker-${id}`, peer, ms, Math.floor(ms / 2));
      await ctx.sleep(ctx.between(1_000, 4_000));
      net.heal();
      ctx.end(f, ', healed');
      return;
    }
  }
}

/** Random faults from `kinds` until the signal aborts: quiet, fault, heal, quiet, … */
export async function randomNemesis(ctx: ChaosContext, kinds: readonly FaultKind[]): Promise<void> {
  while (!ctx.aborted) {
    await ctx.sleep(ctx.between(700, 2_000));
    if (ctx.aborted) return;
    await injectFault(ctx, ctx.pick(kinds));
  }
}
