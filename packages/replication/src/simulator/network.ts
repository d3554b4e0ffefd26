import type { Prng } from './prng.js';

/** Node id of the coordinator in the simulated network; replicas are 1..n. */
export const COORDINATOR_NODE = 0;

export interface NetworkFaults {
  /** Probability a message is lost. */
  readonly dropRate: number;
  /** Probability a message is delivered twice. */
  readonly duplicateRate: number;
  /** Delivery delay is uniform in [1, delayTicksMax] ticks, so messages are reordered. */
  readonly delayTicksMax: number;
}

interface InFlight<M> {
  readonly from: number;
  readonly to: number;
  readonly deliverAt: number;
  readonly seq: number;
  readonly msg: M;
}

/**
 * A simulated network (TigerBeetle packet_simulator, etcd raft_test `drop`/`cut`/`isolate`): each
 * message is dropped, delayed, duplicated at random; any pair of nodes can be cut (both ways).
 * Messages on a cut link are lost when sent and when due. Bounded: beyond `capacity` messages in
 * flight, new ones are dropped (a congested network).
 */
export class SimNetwork<M> {
  readonly #rng: Prng;
  readonly #faults: NetworkFaults;
  readonly #capacity: number;
  #queue: Array<InFlight<M>> = [];
  #cut = new Set<string>();
  #seq = 0;
  sent = 0;
  dropped = 0;

  constructor(rng: Prng, faults: NetworkFaults, capacity = 10_000) {
    this.#rng = rng;
    this.#faults = faults;
    this.#capacity = capacity;
  }

  static #key(a: number, b: number): string {
    return a < b ? `${a}:${b}` : `${b}:${a}`;
  }

  cut(a: number, b: number): void {
    if (a !== b) this.#cut.add(SimNetwork.#key(a, b));
  }
  isCut(a: number, b: number): boolean {
    return this.#cut.has(SimNetwork.#key(a, b));
  }
  heal(): void {
    this.#cut.clear();
  }
  cutLinks(): string[] {
    return [...this.#cut].sort();
  }

  send(from: number, to: number, msg: M, now: number): void {
    this.sent++;
    if (this.isCut(from, to) || this.#rng.chance(this.#faults.dropRate) || this.#queue.length >= this.#capacity) {
      this.dropped++;
      return;
    }
    const copies = this.#rng.chance(this.#faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const deliverAt = now + this.#rng.between(1, Math.max(1, this.#faults.delayTicksMax));
      this.#queue.push({ from, to, deliverAt, seq: this.#seq++, msg });
    }
  }

  /** Messages due at `now`, in (deliverAt, send order); removed from the network. */
  due(now: number): Array<{ from: number; to: number; msg: M }> {
    const ready: Array<InFlight<M>> = [];
    const rest: Array<InFlight<M>> = [];
    for (const m of this.#queue) (m.deliverAt <= now ? ready : rest).push(m);
    this.#queue = rest;
    ready.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    const out: Array<{ from: number; to: number; msg: M }> = [];
    for (const m of ready) {
      if (this.isCut(m.from, m.to)) this.dropped++;
      else out.push({ from: m.from, to: m.to, msg: m.msg });
    }
    return out;
  }

  get inFlight(): number {
    return this.#queue.length;
  }
}
