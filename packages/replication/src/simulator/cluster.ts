import { AssertionError } from '../assert.js';
import { FailureDetector } from '../failure-detector.js';
import { LeaderElection, type ElectionPersist } from '../leader-election.js';
import { MemoryLogStorage } from '../memory-log.js';
import type { Acks, ElectionInput, ReplicaInput, ReplicaOutput, PrepareEpoch, RoleChange } from '../messages.js';
import type { Mutation } from '../mutation.js';
import {
  PartitionReplica,
  type ProduceError,
  type ProposeRejection,
  type ReadRequest,
  type ReplicaConfig,
} from '../partition-replica.js';
import { InvariantChecker, type ReplicaWatch, type Violation } from './invariants.js';
import { COORDINATOR_NODE, SimNetwork } from './network.js';
import { Prng } from './prng.js';

/** Per-step probabilities and bounds of the faults the simulator injects. */
export interface FaultProfile {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly delayTicksMax: number;
  /** Per step: a random live replica crashes (loses everything not durable). */
  readonly crashRate: number;
  /** Per step: a replica that believes it leads crashes (drives back-to-back elections). */
  readonly leaderCrashRate: number;
  /** Per step, per crashed replica: it restarts. */
  readonly restartRate: number;
  /** Per step: a new cut (random pair, isolate a node, leader cut from coordinator only, or a bridge). */
  readonly partitionRate: number;
  /** Per step: all cuts heal. */
  readonly healRate: number;
  /**
   * Per step: the leader is cut from every other replica but not from the coordinator (it must report
   * itself isolated and be moved). Optional: without it no random draw is made, so the other
   * profiles replay their seeds exactly as before it existed.
   */
  readonly leaderCutFromFollowersRate?: number;
  /**
   * Per step: a random live replica applies retention, deleting every durable batch below its HW
   * (a whole log when it is caught up). Optional, like leaderCutFromFollowersRate.
   */
  readonly retentionRate?: number;
  /**
   * 'every-hw' (default): retention stays below every replica's durable HW, so no follower falls
   * behind a leader's log start. 'own-hw': each replica deletes below its own HW only, as brokers
   * do; a follower left below the leader's log start starts its log again there (BelowLogStart).
   */
  readonly retentionBound?: 'every-hw' | 'own-hw';
  /**
   * Per step: every replica crashes at once (kill -9 of the whole cluster); they then restart at
   * restartRate. Optional, like leaderCutFromFollowersRate.
   */
  readonly clusterCrashRate?: number;
  /** Per step: the coordinator crashes (loses unpersisted metadata writes); per step while down: it restarts. */
  readonly coordinatorCrashRate: number;
  readonly coordinatorRestartRate: number;
  /** Per step, per replica: storage makes some pending operations durable. */
  readonly flushRate: number;
  /** Per step: a client produces (with a random ack level). */
  readonly produceRate: number;
}

export const DEFAULT_FAULTS: FaultProfile = Object.freeze({
  dropRate: 0.05,
  duplicateRate: 0.02,
  delayTicksMax: 4,
  crashRate: 0.015,
  leaderCrashRate: 0.005,
  restartRate: 0.1,
  partitionRate: 0.02,
  healRate: 0.03,
  coordinatorCrashRate: 0.003,
  coordinatorRestartRate: 0.1,
  flushRate: 0.6,
  produceRate: 0.7,
});

/**
 * Leader churn: leaders crash soon after election while storage is slow to sync, so elections come
 * back to back with logs of different epochs (the conditions of Raft's figure 8). Used by the
 * negative control of the epoch-start rule.
 */
export const LEADER_CHURN_FAULTS: FaultProfile = Object.freeze({
  ...DEFAULT_FAULTS,
  leaderCrashRate: 0.05,
  restartRate: 0.3,
  flushRate: 0.3,
});

/** The default faults plus leaders cut from all their followers (but not from the coordinator). */
export const LEADER_ISOLATION_FAULTS: FaultProfile = Object.freeze({
  ...DEFAULT_FAULTS,
  leaderCutFromFollowersRate: 0.02,
});

/**
 * The default faults plus retention that empties logs, and whole-cluster crashes that restart every
 * replica from logs retention has emptied (the restart that crash-looped followers: issue 11).
 */
export const RETENTION_FAULTS: FaultProfile = Object.freeze({
  ...DEFAULT_FAULTS,
  retentionRate: 0.05,
  clusterCrashRate: 0.004,
});

/** Retention as brokers run it: each replica below its own HW, so lagging replicas fall behind log starts. */
export const OWN_HW_RETENTION_FAULTS: FaultProfile = Object.freeze({
  ...RETENTION_FAULTS,
  retentionBound: 'own-hw',
});

/** No faults at all: for liveness checks (every produce must commit). */
export const NO_FAULTS: FaultProfile = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  delayTicksMax: 1,
  crashRate: 0,
  leaderCrashRate: 0,
  restartRate: 0,
  partitionRate: 0,
  healRate: 0,
  coordinatorCrashRate: 0,
  coordinatorRestartRate: 0,
  flushRate: 1,
  produceRate: 0.7,
});

export interface SimulationOptions {
  readonly seed: number;
  readonly steps: number;
  /** Replication factor, 1..5 (default 3). */
  readonly replicas?: number;
  readonly faults?: Partial<FaultProfile>;
  readonly mutation?: Mutation;
  /** Collect a human-readable event trace (for replaying a failing seed). */
  readonly trace?: boolean;
}

export interface SimulationStats {
  produced: number;
  proposeRejected: Record<ProposeRejection, number>;
  acked: Record<Acks, number>;
  failed: Record<ProduceError, number>;
  elections: number;
  /** LeaderIsolated reports the coordinator received (a leader cut off from a majority). */
  isolationReports: number;
  offline: number;
  crashes: number;
  restarts: number;
  /** Retention passes that deleted something, and how many of them emptied the log. */
  retentions: number;
  emptiedLogs: number;
  /** Followers that started their log again at a leader's log start (BelowLogStart). */
  resets: number;
  coordinatorCrashes: number;
  partitions: number;
  truncations: number;
  messagesSent: number;
  messagesDropped: number;
  committedOffsets: number;
  consumedBatches: number;
  maxEpoch: number;
}

export interface SimulationResult {
  readonly seed: number;
  /** Steps executed (fewer than asked when a violation stopped the run). */
  readonly steps: number;
  readonly stats: SimulationStats;
  /** Empty, or the first violation. */
  readonly violations: readonly Violation[];
  readonly trace: readonly string[];
}

type Heartbeat = { readonly type: 'Heartbeat'; readonly replicaId: number; readonly incarnation: number };
type WireMessage = ReplicaOutput | PrepareEpoch | RoleChange | Heartbeat;

interface SimReplica {
  readonly id: number;
  alive: boolean;
  incarnation: number;
  core: PartitionReplica | undefined;
  readonly log: MemoryLogStorage;
  promisedDurable: number;
  promiseWrites: Array<{ epoch: number; at: number }>;
  reads: Array<{ req: ReadRequest; at: number }>;
  watch: ReplicaWatch;
  nextHeartbeat: number;
}

interface SimCoordinator {
  alive: boolean;
  fd: FailureDetector;
  election: LeaderElection;
  durable: { highestEpoch: number; leader: number | undefined; epoch: number };
  writes: Array<{ action: ElectionPersist; at: number }>;
}

const HEARTBEAT_TICKS = 3;
const ACK_LEVELS: readonly Acks[] = ['NONE', 'LEADER', 'QUORUM', 'ALL', 'QUORUM'];

/**
 * A deterministic cluster of one partition: `replicas` replicas, a coordinator (failure detector +
 * leader election), clients producing with every ack level and a consumer, over a network that
 * drops, delays, duplicates and reorders, with cuts (pairs, isolation, leader cut from the
 * coordinator only, bridges), replica crashes that lose non-durable state, and coordinator crashes.
 * Every step: faults, coordinator, replicas (storage completions, ticks), deliveries, clients, then
 * the invariant checks. The run stops at the first violation. Same options, same run.
 */
export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

class Simulation {
  readonly #opts: SimulationOptions;
  readonly #faults: FaultProfile;
  readonly #rng: Prng;
  readonly #net: SimNetwork<WireMessage>;
  readonly #replicaIds: number[];
  readonly #nodes = new Map<number, SimReplica>();
  readonly #coord: SimCoordinator;
  readonly #check: InvariantChecker;
  readonly #trace: string[] = [];
  readonly #stats: SimulationStats = {
    produced: 0,
    proposeRejected: { NOT_LEADER: 0, NOT_ENOUGH_REPLICAS: 0, TOO_MANY_REQUESTS: 0 },
    acked: { NONE: 0, LEADER: 0, QUORUM: 0, ALL: 0 },
    failed: { NOT_LEADER: 0, TIMEOUT: 0, NOT_ENOUGH_REPLICAS: 0 },
    elections: 0,
    isolationReports: 0,
    offline: 0,
    crashes: 0,
    restarts: 0,
    retentions: 0,
    emptiedLogs: 0,
    resets: 0,
    coordinatorCrashes: 0,
    partitions: 0,
    truncations: 0,
    messagesSent: 0,
    messagesDropped: 0,
    committedOffsets: 0,
    consumedBatches: 0,
    maxEpoch: 0,
  };
  readonly #pendingAcks = new Map<number, Acks>();
  /** Flow-control bounds drawn per seed, so small windows and split shipments get exercised too. */
  readonly #replicaConfig: Partial<ReplicaConfig>;
  #now = 0;
  #produceId = 0;
  #consumerPos = 0;

  constructor(opts: SimulationOptions) {
    this.#opts = opts;
    this.#faults = { ...DEFAULT_FAULTS, ...opts.faults };
    this.#rng = new Prng(opts.seed);
    this.#net = new SimNetwork(this.#rng, this.#faults);
    this.#check = new InvariantChecker(opts.seed);
    const rng = this.#rng;
    this.#replicaConfig = {
      readBytesMax: rng.pick([1000, 4000, 16_000, 256 * 1024]),
      windowBytesMax: rng.pick([3000, 10_000, 64_000, 1024 * 1024]),
      windowBatchesMax: rng.pick([1, 2, 8, 64]),
      retransmitTicks: rng.between(5, 30),
      fetchKeepaliveTicks: rng.between(3, 15),
      // Short enough that cut-off leaders report themselves and get moved within a run (not drawn
      // from the rng, so every seed's other draws stay as they were).
      leaderIsolationTicks: 20 + (opts.seed % 40),
    };
    const n = opts.replicas ?? 3;
    if (!(n >= 1 && n <= 5)) throw new RangeError('replicas must be 1..5');
    this.#replicaIds = Array.from({ length: n }, (_, i) => i + 1);
    for (const id of this.#replicaIds) {
      const node: SimReplica = {
        id,
        alive: true,
        incarnation: 1,
        core: undefined,
        log: new MemoryLogStorage(),
        promisedDurable: 0,
        promiseWrites: [],
        reads: [],
        watch: { lastHw: 0, checkedTo: 0, leaderEpochChecked: -1 },
        nextHeartbeat: 0,
      };
      node.core = this.#newCore(node);
      this.#nodes.set(id, node);
    }
    this.#coord = {
      alive: true,
      fd: new FailureDetector(),
      election: this.#newElection({ highestEpoch: 0, leader: undefined, epoch: 0 }),
      durable: { highestEpoch: 0, leader: undefined, epoch: 0 },
      writes: [],
    };
  }

  #newCore(node: SimReplica): PartitionReplica {
    return new PartitionReplica({
      replicaId: node.id,
      restored: node.log.recovered(node.promisedDurable),
      config: this.#replicaConfig,
      ...(this.#opts.mutation === undefined ? {} : { mutation: this.#opts.mutation }),
    });
  }

  #newElection(durable: SimCoordinator['durable']): LeaderElection {
    return new LeaderElection(
      { replicas: this.#replicaIds, ...durable },
      { uncleanElection: this.#opts.mutation === 'unclean-election' },
    );
  }

  #log(line: string): void {
    if (this.#opts.trace === true) this.#trace.push(`[${this.#now}] ${line}`);
  }

  run(): SimulationResult {
    let step = 0;
    try {
      for (; step < this.#opts.steps && this.#check.violation === undefined; step++) {
        this.#now = step + 1;
        this.#check.setStep(this.#now);
        this.#step();
      }
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      this.#check.fail('assertion', err.message);
    }
    this.#stats.messagesSent = this.#net.sent;
    this.#stats.messagesDropped = this.#net.dropped;
    this.#stats.committedOffsets = this.#check.committed.size;
    const v = this.#check.violation;
    return { seed: this.#opts.seed, steps: step, stats: this.#stats, violations: v === undefined ? [] : [v], trace: this.#trace };
  }

  #step(): void {
    this.#injectFaults();
    this.#coordinatorStep();
    for (const node of this.#nodes.values()) this.#replicaStep(node);
    for (const { from, to, msg } of this.#net.due(this.#now)) this.#deliver(from, to, msg);
    this.#clients();
    this.#consume();
    for (const node of this.#nodes.values()) {
      if (node.alive && node.core !== undefined) this.#check.checkReplica(node.id, node.core, node.log, node.watch);
    }
  }

  // ---- faults ----------------------------------------------------------------------------------

  #injectFaults(): void {
    const f = this.#faults;
    const rng = this.#rng;
    const alive = [...this.#nodes.values()].filter((n) => n.alive);
    if (alive.length >= 2 && rng.chance(f.crashRate)) this.#crash(rng.pick(alive));
    else if (rng.chance(f.leaderCrashRate)) {
      const leaders = alive.filter((n) => n.core?.role === 'leader');
      if (leaders.length > 0) this.#crash(rng.pick(leaders));
    }
    for (const node of this.#nodes.values()) if (!node.alive && rng.chance(f.restartRate)) this.#restart(node);
    if (rng.chance(f.partitionRate)) this.#partition();
    if (f.leaderCutFromFollowersRate !== undefined && rng.chance(f.leaderCutFromFollowersRate)) this.#cutLeaderFromFollowers();
    if (f.retentionRate !== undefined && alive.length > 0 && rng.chance(f.retentionRate)) this.#retention(rng.pick(alive));
    if (f.clusterCrashRate !== undefined && rng.chance(f.clusterCrashRate)) {
      this.#log('every replica crashes');
      for (const node of this.#nodes.values()) if (node.alive) this.#crash(node);
    }
    if (rng.chance(f.healRate)) {
      this.#net.heal();
      this.#log('network healed');
    }
    if (this.#coord.alive && rng.chance(f.coordinatorCrashRate)) {
      this.#coord.alive = false;
      this.#coord.writes = [];
      this.#stats.coordinatorCrashes++;
      this.#log('coordinator crashed');
    } else if (!this.#coord.alive && rng.chance(f.coordinatorRestartRate)) {
      this.#coord.alive = true;
      this.#coord.fd = new FailureDetector();
      this.#coord.election = this.#newElection({ ...this.#coord.durable });
      this.#log(`coordinator restarted with ${JSON.stringify(this.#coord.durable)}`);
    }
  }

  #crash(node: SimReplica): void {
    node.alive = false;
    node.core = undefined;
    node.log.crash();
    node.promiseWrites = [];
    node.reads = [];
    this.#stats.crashes++;
    this.#log(`replica ${node.id} crashed (durable LEO ${node.log.logEndOffset}, promised ${node.promisedDurable})`);
  }

  #retention(node: SimReplica): void {
    const core = node.core;
    if (core === undefined) return;
    let notAbove = core.highWatermark;
    if (this.#faults.retentionBound !== 'own-hw') {
      for (const other of this.#nodes.values()) notAbove = Math.min(notAbove, other.log.durableHighWatermark);
    }
    const deleted = node.log.applyRetention(notAbove);
    if (deleted === 0) return;
    this.#check.onRetention(node.log.logStart.offset);
    core.logStartMoved(node.log.logStart);
    this.#drain(node);
    this.#stats.retentions++;
    if (node.log.logEndOffset === node.log.logStart.offset) this.#stats.emptiedLogs++;
    this.#log(`replica ${node.id} retention deleted ${deleted} records (log start ${node.log.logStart.offset}, LEO ${node.log.logEndOffset})`);
  }

  #restart(node: SimReplica): void {
    node.alive = true;
    node.incarnation++;
    node.core = this.#newCore(node);
    node.watch = { lastHw: node.core.highWatermark, checkedTo: 0, leaderEpochChecked: -1 };
    node.nextHeartbeat = this.#now;
    this.#stats.restarts++;
    this.#log(`replica ${node.id} restarted (LEO ${node.core.logEndOffset}, HW ${node.core.highWatermark})`);
  }

  #partition(): void {
    const rng = this.#rng;
    const ids = this.#replicaIds;
    this.#stats.partitions++;
    const leader = this.#coord.election.leader;
    switch (rng.int(4)) {
      case 0: {
        const a = rng.pick([COORDINATOR_NODE, ...ids]);
        const b = rng.pick(ids);
        this.#net.cut(a, b);
        this.#log(`cut ${a}-${b}`);
        break;
      }
      case 1: {
        const a = rng.pick(ids);
        for (const b of [COORDINATOR_NODE, ...ids]) this.#net.cut(a, b);
        this.#log(`isolated ${a}`);
        break;
      }
      case 2: {
        const a = leader ?? rng.pick(ids);
        this.#net.cut(a, COORDINATOR_NODE);
        this.#log(`leader ${a} cut from the coordinator only`);
        break;
      }
      default: {
        const bridge = rng.pick(ids);
        for (const a of ids) for (const b of ids) if (a !== bridge && b !== bridge) this.#net.cut(a, b);
        this.#log(`bridge through ${bridge}`);
      }
    }
  }

  #cutLeaderFromFollowers(): void {
    const leader = this.#coord.election.leader;
    if (leader === undefined) return;
    this.#stats.partitions++;
    for (const b of this.#replicaIds) if (b !== leader) this.#net.cut(leader, b);
    this.#log(`leader ${leader} cut from its followers only`);
  }

  // ---- coordinator -----------------------------------------------------------------------------

  #coordinatorStep(): void {
    const c = this.#coord;
    if (!c.alive) return;
    c.fd.tick();
    while (c.writes.length > 0 && c.writes[0]!.at <= this.#now) {
      const { action } = c.writes.shift()!;
      if (action.kind === 'highestEpoch') {
        c.durable.highestEpoch = Math.max(c.durable.highestEpoch, action.epoch);
        c.election.epochPersisted(action.epoch);
      } else {
        c.durable = { highestEpoch: Math.max(c.durable.highestEpoch, action.epoch), leader: action.leader, epoch: action.epoch };
        c.election.assignmentPersisted(action.epoch);
      }
      this.#drainCoordinator();
    }
    c.election.setLive(c.fd.live());
    c.election.tick();
    this.#drainCoordinator();
  }

  #drainCoordinator(): void {
    const c = this.#coord;
    while (c.election.hasReady()) {
      const r = c.election.ready();
      for (const action of r.persist) {
        const last = c.writes.at(-1)?.at ?? this.#now;
        c.writes.push({ action, at: Math.max(last, this.#now + this.#rng.int(3)) });
      }
      for (const { to, msg } of r.send) this.#net.send(COORDINATOR_NODE, to, msg, this.#now);
      for (const e of r.events) {
        if (e.kind === 'elected') {
          this.#stats.elections++;
          this.#stats.maxEpoch = Math.max(this.#stats.maxEpoch, e.epoch);
        } else if (e.kind === 'offline') this.#stats.offline++;
        this.#log(`coordinator: ${JSON.stringify(e)}`);
      }
      c.election.advance();
    }
  }

  // ---- replicas --------------------------------------------------------------------------------

  #replicaStep(node: SimReplica): void {
    const core = node.core;
    if (!node.alive || core === undefined) return;
    if (this.#now >= node.nextHeartbeat) {
      node.nextHeartbeat = this.#now + HEARTBEAT_TICKS;
      this.#net.send(node.id, COORDINATOR_NODE, { type: 'Heartbeat', replicaId: node.id, incarnation: node.incarnation }, this.#now);
    }
    while (node.promiseWrites.length > 0 && node.promiseWrites[0]!.at <= this.#now) {
      const { epoch } = node.promiseWrites.shift()!;
      node.promisedDurable = Math.max(node.promisedDurable, epoch);
      core.promisePersisted(epoch);
      this.#drain(node);
    }
    if (this.#rng.chance(this.#faults.flushRate)) {
      const count = this.#rng.between(0, node.log.pendingOps);
      for (const done of node.log.completeOps(count)) {
        if (done.kind === 'append') core.appended(done.endOffset);
        else if (done.kind === 'truncate') core.truncated(done.offset);
        else core.logReset(done.offset);
        this.#drain(node);
      }
    }
    while (node.reads.length > 0 && node.reads[0]!.at <= this.#now) {
      const { req } = node.reads.shift()!;
      core.readCompleted(req.token, node.log.read(req.fromOffset, req.maxBytes, req.endOffset));
      this.#drain(node);
    }
    core.tick();
    this.#drain(node);
  }

  /** The driver loop, in the documented order: persist, reads, send, acks, advance. */
  #drain(node: SimReplica): void {
    const core = node.core;
    if (core === undefined) return;
    while (core.hasReady()) {
      const r = core.ready();
      for (const p of r.persist) {
        switch (p.kind) {
          case 'append':
            node.log.append(p.batch);
            break;
          case 'truncate':
            this.#stats.truncations++;
            this.#check.onTruncate(node.id, node.log, p.offset, node.watch);
            this.#log(`replica ${node.id} truncates to ${p.offset} (LEO ${node.log.logEndOffset}, epochs ${JSON.stringify(node.log.epochEntries())}, log start ${JSON.stringify(node.log.logStart)})`);
            node.log.truncateTo(p.offset);
            break;
          case 'reset':
            this.#stats.resets++;
            this.#log(`replica ${node.id} resets its log to start at ${JSON.stringify(p.logStart)} (LEO ${node.log.logEndOffset})`);
            node.log.resetTo(p.logStart);
            break;
          case 'promise': {
            const last = node.promiseWrites.at(-1)?.at ?? this.#now;
            node.promiseWrites.push({ epoch: p.epoch, at: Math.max(last, this.#now + this.#rng.int(3)) });
            break;
          }
          case 'highWatermark':
            node.log.setHighWatermark(p.highWatermark);
            break;
        }
      }
      for (const req of r.reads) node.reads.push({ req, at: this.#now + this.#rng.int(2) });
      for (const { to, msg } of r.send) {
        this.#net.send(node.id, to === 'coordinator' ? COORDINATOR_NODE : to, msg, this.#now);
      }
      for (const ack of r.acks) {
        const level = this.#pendingAcks.get(ack.produceId);
        this.#pendingAcks.delete(ack.produceId);
        if ('error' in ack) this.#stats.failed[ack.error]++;
        else if (level !== undefined) {
          this.#stats.acked[level]++;
          if (level === 'QUORUM' || level === 'ALL') this.#check.onAck(node.id, core.epoch, node.log, ack.produceId, ack.baseOffset);
        }
      }
      core.advance();
    }
  }

  #deliver(from: number, to: number, msg: WireMessage): void {
    if (to === COORDINATOR_NODE) {
      const c = this.#coord;
      if (!c.alive) return;
      if (msg.type === 'Heartbeat') {
        if (c.fd.heartbeat(msg.replicaId, msg.incarnation)) c.election.sessionEnded(msg.replicaId);
        c.election.setLive(c.fd.live());
      } else if (msg.type === 'EpochPromise' || msg.type === 'PrepareRejected' || msg.type === 'LeadershipDeclined' || msg.type === 'LeaderIsolated') {
        if (msg.type === 'LeaderIsolated') this.#stats.isolationReports++;
        c.election.step(msg satisfies ElectionInput);
      }
      this.#drainCoordinator();
      return;
    }
    const node = this.#nodes.get(to);
    if (node === undefined || !node.alive || node.core === undefined) return;
    if (msg.type === 'Heartbeat' || msg.type === 'EpochPromise' || msg.type === 'PrepareRejected' || msg.type === 'LeadershipDeclined' || msg.type === 'LeaderIsolated') return;
    const before = node.core.role;
    if (msg.type === 'Diverging' || msg.type === 'BelowLogStart') this.#log(`replica ${node.id} hears ${JSON.stringify(msg)} from ${from}`);
    node.core.step(msg satisfies ReplicaInput);
    if (node.core.role !== before) this.#log(`replica ${node.id}: ${before} -> ${node.core.role} at epoch ${node.core.epoch} (from ${from}: ${msg.type})`);
    this.#drain(node);
  }

  // ---- clients ---------------------------------------------------------------------------------

  #clients(): void {
    const rng = this.#rng;
    if (!rng.chance(this.#faults.produceRate)) return;
    const alive = [...this.#nodes.values()].filter((n) => n.alive && n.core !== undefined);
    if (alive.length === 0) return;
    const leaders = alive.filter((n) => n.core!.role === 'leader');
    const node = leaders.length > 0 && rng.chance(0.9) ? rng.pick(leaders) : rng.pick(alive);
    const core = node.core!;
    const produceId = ++this.#produceId;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, produceId);
    const acks = rng.pick(ACK_LEVELS);
    const res = core.propose({
      produceId,
      payload,
      recordCount: rng.between(1, 3),
      sizeBytes: rng.between(50, 3000),
      acks,
      timeoutTicks: rng.between(20, 120),
    });
    if (res.ok) {
      this.#stats.produced++;
      this.#pendingAcks.set(produceId, acks);
    } else this.#stats.proposeRejected[res.error]++;
    this.#drain(node);
  }

  #consume(): void {
    const rng = this.#rng;
    const leaders = [...this.#nodes.values()].filter((n) => n.alive && n.core?.role === 'leader');
    if (leaders.length === 0) return;
    const node = rng.pick(leaders);
    const hw = node.core!.highWatermark;
    if (rng.chance(0.02)) this.#consumerPos = 0; // a new consumer re-reads everything
    const batches = node.log.read(this.#consumerPos, 16 * 1024, hw);
    if (batches.length === 0) return;
    this.#stats.consumedBatches += batches.length;
    this.#check.onConsume(node.id, hw, batches);
    const last = batches.at(-1)!;
    this.#consumerPos = last.baseOffset + last.recordCount;
  }
}
