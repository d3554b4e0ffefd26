import type { ChaosContext } from './nemesis.js';

/**
 * Scripted fault sequences: the CI chaos matrix (test/chaos-matrix.test.ts) runs each with a few
 * seeds; the seed picks targets and timings. Each ends with its faults healed or nodes restarted
 * (the runner heals anything left over anyway).
 */
export type Scenario = (ctx: ChaosContext) => Promise<void>;

const broker = (id: number): string => `broker-${id}`;

async function followersOf(ctx: ChaosContext, leader: number): Promise<number[]> {
  return ctx.brokerIds().filter((b) => b !== leader);
}

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  /** kill -9 of the leader, three times, each time restarted. */
  'leader-kill-repeat': async (ctx) => {
    for (let i = 0; i < 3 && !ctx.aborted; i++) {
      const id = await ctx.leaderOrAny(i % 3);
      const f = ctx.begin('kill', `kill -9 leader broker-${id}`);
      await ctx.kill(id);
      await ctx.sleep(ctx.between(800, 1_800));
      await ctx.start(broker(id));
      ctx.end(f, ', restarted');
      await ctx.sleep(ctx.between(500, 1_200));
    }
  },
  /** Each follower of partition 0 killed -9 and restarted in turn. */
  'follower-kill': async (ctx) => {
    const leader = await ctx.leaderOrAny(0);
    for (const id of await followersOf(ctx, leader)) {
      const f = ctx.begin('kill', `kill -9 follower broker-${id}`);
      await ctx.kill(id);
      await ctx.sleep(ctx.between(800, 1_500));
      await ctx.start(broker(id));
      ctx.end(f, ', restarted');
      await ctx.sleep(500);
    }
  },
  /** The leader paused (SIGSTOP) past the session timeout, then resumed: it must not commit as a stale leader. */
  'leader-pause': async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const f = ctx.begin('pause', `SIGSTOP leader broker-${id}`);
    ctx.pause(id);
    await ctx.sleep(ctx.sessionTimeoutMs + ctx.between(500, 1_500));
    ctx.resume(id);
    ctx.end(f, ', SIGCONT');
    await ctx.sleep(1_500);
  },
  /**
   * The leader cut from its followers (it still reaches the coordinator and clients), long enough
   * for it to report itself isolated (3 s) and for the leadership to move to a follower.
   */
  'leader-cut-from-followers': async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const f = ctx.begin('partition', `cut leader broker-${id} from its followers`);
    for (const o of await followersOf(ctx, id)) ctx.cluster.network?.cut(broker(id), broker(o));
    await ctx.sleep(ctx.between(5_000, 6_000));
    ctx.cluster.network?.heal();
    ctx.end(f, ', healed');
    await ctx.sleep(1_000);
  },
  /** The leader cut from the coordinator only: it still reaches its followers (the fencing case). */
  'leader-cut-from-coordinator': async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const f = ctx.begin('partition', `cut leader broker-${id} from the coordinator only`);
    ctx.cluster.network?.cut(broker(id), 'coordinator');
    await ctx.sleep(ctx.sessionTimeoutMs + ctx.between(1_000, 2_000));
    ctx.cluster.network?.heal();
    ctx.end(f, ', healed');
    await ctx.sleep(1_000);
  },
  /** A bridge: the leader and one follower cannot reach each other; both reach the third broker. */
  bridge: async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const other = (await followersOf(ctx, id))[0] ?? id;
    const f = ctx.begin('partition', `bridge: cut broker-${id} from broker-${other}; both reach the rest`);
    ctx.cluster.network?.cut(broker(id), broker(other));
    await ctx.sleep(ctx.between(2_500, 3_500));
    ctx.cluster.network?.heal();
    ctx.end(f, ', healed');
    await ctx.sleep(1_000);
  },
  /** Slow links that deliver old frames after a leader change: the leader's links delayed, then it is killed. */
  'slow-links-leader-change': async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const ms = ctx.between(200, 400);
    const f = ctx.begin('delay', `delay broker-${id}'s links by ${ms} ms, then kill -9 it`);
    for (const o of await followersOf(ctx, id)) ctx.cluster.network?.delay(broker(id), broker(o), ms, Math.floor(ms / 2));
    await ctx.sleep(1_500);
    await ctx.kill(id);
    await ctx.sleep(ctx.between(1_000, 2_000));
    await ctx.start(broker(id));
    await ctx.sleep(1_000);
    ctx.cluster.network?.heal();
    ctx.end(f, ', restarted and healed');
    await ctx.sleep(1_000);
  },
  /** The coordinator killed -9 while a failover is under way. */
  'coordinator-kill-during-failover': async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const f = ctx.begin('coordinator', `kill -9 leader broker-${id}, then the coordinator`);
    await ctx.kill(id);
    await ctx.sleep(ctx.between(20, 200));
    await ctx.killCoordinator();
    await ctx.sleep(ctx.between(1_000, 2_000));
    await ctx.start('coordinator');
    await ctx.sleep(1_000);
    await ctx.start(broker(id));
    ctx.end(f, ', both restarted');
    await ctx.sleep(1_000);
  },
  /** Every process killed -9 at once, then the whole cluster restarted. */
  'whole-cluster-restart': async (ctx) => {
    const f = ctx.begin('kill', 'kill -9 every broker and the coordinator');
    await Promise.all([...ctx.brokerIds().map((b) => ctx.kill(b)), ctx.killCoordinator()]);
    await ctx.sleep(ctx.between(500, 1_500));
    await ctx.start('coordinator');
    for (const b of ctx.brokerIds()) await ctx.start(broker(b));
    ctx.end(f, ', all restarted');
    await ctx.sleep(1_500);
  },
  /** A power loss of the leader while both followers are paused. */
  'power-loss-while-paused': async (ctx) => {
    const id = await ctx.leaderOrAny(0);
    const followers = await followersOf(ctx, id);
    const f = ctx.begin('powerloss', `SIGSTOP broker-${followers.join(', broker-')}, power loss of leader broker-${id}`);
    for (const o of followers) ctx.pause(o);
    await ctx.sleep(ctx.between(300, 800));
    await ctx.powerLoss(id);
    await ctx.sleep(500);
    for (const o of followers) ctx.resume(o);
    await ctx.sleep(ctx.between(500, 1_000));
    await ctx.start(broker(id));
    ctx.end(f, ', resumed and restarted');
    await ctx.sleep(1_500);
  },
  /** A power loss of every broker at once (the coordinator is killed -9), then everything restarted. */
  'whole-cluster-power-loss': async (ctx) => {
    await ctx.sleep(1_000);
    const f = ctx.begin('powerloss', 'power loss of every broker (and kill -9 of the coordinator)');
    await Promise.all([...ctx.brokerIds().map((b) => ctx.powerLoss(b)), ctx.killCoordinator()]);
    await ctx.sleep(500);
    await ctx.start('coordinator');
    for (const b of ctx.brokerIds()) await ctx.start(broker(b));
    ctx.end(f, ', all restarted');
    await ctx.sleep(1_500);
  },
};
