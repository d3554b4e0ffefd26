import { FaultProxy, type FaultProxyStats } from './net/fault-proxy.js';
import type { LinkFault } from './net/link-fault.js';

/** A node of the network: 'coordinator', 'broker-<id>', or 'client' (the test's own clients). */
export type Endpoint = string;

interface Link {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly proxy: FaultProxy;
}

/**
 * Every link of a cluster through its own fault proxy: for each ordered pair (from, to), `from`
 * dials `to` through proxy(from -> to) (RUNNEL_DIAL_MAP for processes, `addressMap` for clients).
 * So a fault between two nodes is a fault on the two proxies between them, and nothing else is
 * touched. Connections are always initiated by `from`: bytes `from` sends are 'forward' on
 * proxy(from -> to) and 'backward' on proxy(to -> from).
 */
export class ClusterNetwork {
  private readonly links = new Map<string, Link>();

  private constructor(private readonly addresses: ReadonlyMap<Endpoint, string>) {}

  /** `nodes`: every process endpoint and its real address. 'client' is added as a dialing-only endpoint. */
  static async create(nodes: ReadonlyMap<Endpoint, string>, seed: number): Promise<ClusterNetwork> {
    const net = new ClusterNetwork(nodes);
    const sources = [...nodes.keys(), 'client'];
    let n = 0;
    try {
      for (const from of sources) {
        for (const [to, address] of nodes) {
          if (from === to) continue;
          const port = Number(address.slice(address.lastIndexOf(':') + 1));
          const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port }, seed: seed * 1000 + n++, name: `${from}->${to}` });
          net.links.set(`${from}>${to}`, { from, to, proxy });
        }
      }
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  /** What `from` must dial instead of each peer's real address. */
  dialMap(from: Endpoint): Record<string, string> {
    const out: Record<string, string> = {};
    for (const l of this.links.values()) {
      if (l.from !== from) continue;
      const real = this.addresses.get(l.to);
      if (real !== undefined) out[real] = l.proxy.address;
    }
    return out;
  }

  /** Throws unless a link exists between a and b in at least one direction ('client' only dials). */
  private link(a: Endpoint, b: Endpoint): void {
    if (!this.links.has(`${a}>${b}`) && !this.links.has(`${b}>${a}`)) {
      throw new Error(`no link between ${a} and ${b} (endpoints: ${[...this.addresses.keys(), 'client'].join(', ')})`);
    }
  }

  private set(from: Endpoint, to: Endpoint, fault: LinkFault): void {
    this.links.get(`${from}>${to}`)?.proxy.setFault(fault);
  }

  /** Both directions between a and b fail (connections reset, new ones refused). */
  cut(a: Endpoint, b: Endpoint): void {
    this.link(a, b);
    this.set(a, b, { kind: 'cut' });
    this.set(b, a, { kind: 'cut' });
  }

  /** Bytes `from` sends to `to` are silently lost (on every connection between them); the reverse flows. */
  dropOneWay(from: Endpoint, to: Endpoint): void {
    this.link(from, to);
    this.set(from, to, { kind: 'drop', direction: 'forward' });
    this.set(to, from, { kind: 'drop', direction: 'backward' });
  }

  /** Every byte between a and b, both ways, arrives `ms` (+ jitter) later: old frames arrive late. */
  delay(a: Endpoint, b: Endpoint, ms: number, jitterMs = 0): void {
    this.link(a, b);
    this.set(a, b, { kind: 'delay', ms, jitterMs });
    this.set(b, a, { kind: 'delay', ms, jitterMs });
  }

  slow(a: Endpoint, b: Endpoint, bytesPerSecond: number): void {
    this.link(a, b);
    this.set(a, b, { kind: 'slow', bytesPerSecond });
    this.set(b, a, { kind: 'slow', bytesPerSecond });
  }

  /** Cuts every link between a node in `side` and a node outside it (clients included unless listed). */
  partition(side: readonly Endpoint[]): void {
    const inside = new Set(side);
    for (const l of this.links.values()) if (inside.has(l.from) !== inside.has(l.to)) l.proxy.setFault({ kind: 'cut' });
  }

  /** Cuts `node` from every other endpoint. */
  isolate(node: Endpoint): void {
    this.partition([node]);
  }

  /** Heals the links between a and b, or every link. */
  heal(a?: Endpoint, b?: Endpoint): void {
    for (const l of this.links.values()) {
      if (a === undefined || (l.from === a && (b === undefined || l.to === b)) || (l.to === a && (b === undefined || l.from === b))) l.proxy.heal();
    }
  }

  /** Bytes and connections per link, for reports. */
  stats(): Array<{ from: Endpoint; to: Endpoint; fault: string } & FaultProxyStats> {
    return [...this.links.values()].map((l) => ({ from: l.from, to: l.to, fault: l.proxy.fault.kind, ...l.proxy.stats }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.proxy.close()));
    this.links.clear();
  }
}
