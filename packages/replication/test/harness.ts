// Hand-driven replicas for scenario tests: a synchronous driver in the documented order (persist,
// reads, send, acks, advance) over MemoryLogStorage, with storage completions under test control.
import {
  MemoryLogStorage,
  PartitionReplica,
  type Outgoing,
  type ProduceAck,
  type ReplicaBatch,
  type ReplicaConfig,
  type ReplicaInput,
  type Mutation,
} from '../src/index.js';

export function batch(baseOffset: number, epoch: number, recordCount = 1, sizeBytes = 100, id = baseOffset): ReplicaBatch {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, id);
  return { baseOffset, recordCount, epoch, sizeBytes, control: false, payload };
}

/** A log of one-record batches with the given epochs, e.g. [1, 1, 2] -> offsets 0,1 at epoch 1, 2 at epoch 2. */
export function logOf(epochs: readonly number[], sizeBytes = 100): ReplicaBatch[] {
  return epochs.map((e, i) => batch(i, e, 1, sizeBytes));
}

export interface Node {
  readonly id: number;
  core: PartitionReplica;
  readonly log: MemoryLogStorage;
  /** Messages sent, not yet delivered. */
  outbox: Outgoing[];
  acks: ProduceAck[];
  promised: number;
  /** Promise writes issued and not yet durable. */
  promiseWrites: number[];
  /** When false, storage completions wait for flush(). */
  autoFlush: boolean;
}

export function makeNode(
  id: number,
  opts: { epochs?: readonly number[]; hw?: number; promised?: number; config?: Partial<ReplicaConfig>; mutation?: Mutation; autoFlush?: boolean } = {},
): Node {
  const log = new MemoryLogStorage({ batches: logOf(opts.epochs ?? []), highWatermark: opts.hw ?? 0 });
  const promised = opts.promised ?? 0;
  const core = new PartitionReplica({
    replicaId: id,
    restored: log.recovered(promised),
    ...(opts.config === undefined ? {} : { config: opts.config }),
    ...(opts.mutation === undefined ? {} : { mutation: opts.mutation }),
  });
  return { id, core, log, outbox: [], acks: [], promised, promiseWrites: [], autoFlush: opts.autoFlush ?? true };
}

/** Carries out every Ready of `n`, in the documented order. */
export function drive(n: Node): void {
  while (n.core.hasReady()) {
    const r = n.core.ready();
    for (const p of r.persist) {
      if (p.kind === 'append') n.log.append(p.batch);
      else if (p.kind === 'truncate') n.log.truncateTo(p.offset);
      else if (p.kind === 'reset') n.log.resetTo(p.logStart);
      else if (p.kind === 'promise') n.promiseWrites.push(p.epoch);
      else n.log.setHighWatermark(p.highWatermark);
    }
    const reads = [...r.reads];
    n.outbox.push(...r.send);
    n.acks.push(...r.acks);
    n.core.advance();
    for (const req of reads) {
      n.core.readCompleted(req.token, n.log.read(req.fromOffset, req.maxBytes, req.endOffset));
    }
    if (n.autoFlush) flush(n);
  }
}

/** Makes every pending storage operation and promise of `n` durable and reports the completions. */
export function flush(n: Node, ops = Number.MAX_SAFE_INTEGER): void {
  for (const done of n.log.completeOps(ops)) {
    if (done.kind === 'append') n.core.appended(done.endOffset);
    else if (done.kind === 'truncate') n.core.truncated(done.offset);
    else n.core.logReset(done.offset);
  }
  for (const epoch of n.promiseWrites.splice(0)) {
    n.promised = Math.max(n.promised, epoch);
    n.core.promisePersisted(epoch);
  }
  drive(n);
}

export function step(n: Node, msg: ReplicaInput): void {
  n.core.step(msg);
  drive(n);
}

/** Takes the messages `n` has sent (optionally only those of a type). */
export function take<T extends Outgoing['msg']['type']>(n: Node, type?: T): Array<{ to: Outgoing['to']; msg: Extract<Outgoing['msg'], { type: T }> }> {
  const out: Array<{ to: Outgoing['to']; msg: Extract<Outgoing['msg'], { type: T }> }> = [];
  const rest: Outgoing[] = [];
  for (const o of n.outbox) {
    if (type === undefined || o.msg.type === type) out.push(o as { to: Outgoing['to']; msg: Extract<Outgoing['msg'], { type: T }> });
    else rest.push(o);
  }
  n.outbox = rest;
  return out;
}

/** Delivers every message between `nodes` until quiet (coordinator-bound messages are kept aside). */
export function exchange(nodes: readonly Node[], rounds = 100): Outgoing[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const toCoordinator: Outgoing[] = [];
  for (let i = 0; i < rounds; i++) {
    let moved = false;
    for (const n of nodes) {
      const msgs = n.outbox;
      n.outbox = [];
      for (const o of msgs) {
        moved = true;
        if (o.to === 'coordinator') toCoordinator.push(o);
        else {
          const target = byId.get(o.to);
          const m = o.msg;
          if (target !== undefined && m.type !== 'EpochPromise' && m.type !== 'PrepareRejected' && m.type !== 'LeadershipDeclined' && m.type !== 'LeaderIsolated') step(target, m);
        }
      }
    }
    if (!moved) break;
  }
  return toCoordinator;
}

/** Makes `leader` lead `epoch` over `replicas` (promise + announce) and the others follow it. */
export function elect(leader: Node, others: readonly Node[], epoch: number): void {
  const replicas = [leader.id, ...others.map((o) => o.id)].sort((a, b) => a - b);
  step(leader, { type: 'PrepareEpoch', epoch });
  flush(leader);
  take(leader, 'EpochPromise');
  for (const n of [leader, ...others]) step(n, { type: 'RoleChange', epoch, leader: leader.id, replicas });
}

export function ticks(nodes: readonly Node[], count: number): void {
  for (let i = 0; i < count; i++) {
    for (const n of nodes) {
      n.core.tick();
      drive(n);
    }
    exchange(nodes);
  }
}
