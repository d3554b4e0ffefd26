import { startCluster } from '@runnel/testkit';
import { RunnelClient } from '@runnel/client';
import { runnelGrpc } from '@runnel/protocol';
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
const fsync = process.argv[2] ?? 'never';
const cluster = await startCluster({ fsync, logLevel: 'warn' });
const client = new RunnelClient({ bootstrap: cluster.bootstrap });
try {
  await client.admin.createTopic({ name: 'p', partitions: 1, replicationFactor: Number(process.argv[3] ?? 3) });
  await new Promise((r) => setTimeout(r, 1000));
  const offs = await client.admin.partitionOffsets('p');
  const md = await client.refreshMetadata?.();
  const meta = client.metadata?.() ?? undefined;
  // find leader address via raw Metadata
  const Broker = runnelGrpc().runnel.v1.Broker;
  const addr = cluster.brokers[0].address;
  let raw = new Broker(addr, grpc.credentials.createInsecure());
  let mdRes = await new Promise((res, rej) => raw.GetMetadata({}, (e, r) => (e ? rej(e) : res(r))));
  const leaderId = mdRes.topics.find((t) => t.name === 'p').partitions[0].leader;
  const leaderAddr = mdRes.brokers.find((b) => b.id === leaderId).address;
  raw = new Broker(leaderAddr, grpc.credentials.createInsecure());
  const q = (t) => { t.sort((a, b) => a - b); const f = (p) => t[Math.floor(p * (t.length - 1))].toFixed(2); return `p50 ${f(0.5)} p99 ${f(0.99)} p99.9 ${f(0.999)} max ${f(1)}`; };
  async function measure(name, n, fn) {
    for (let i = 0; i < 300; i++) await fn();
    const t = [];
    for (let i = 0; i < n; i++) { const s = performance.now(); await fn(); t.push(performance.now() - s); }
    console.log(name.padEnd(28), q(t));
  }
  const unary = (m, req) => new Promise((res, rej) => raw[m](req, (e, r) => (e ? rej(e) : res(r))));
  const value = Buffer.alloc(1024, 97);
  await measure('raw ListOffsets', 3000, () => unary('ListOffsets', { topic: 'p', partitions: [0] }));
  await measure('raw Produce acks leader', 3000, () => unary('Produce', { topic: 'p', partition: 0, acks: 'ACKS_LEADER', records: [{ value }] }));
  await measure('raw Produce acks quorum', 3000, () => unary('Produce', { topic: 'p', partition: 0, acks: 'ACKS_QUORUM', records: [{ value }] }));
  const prod = client.producer({ acks: 'quorum', lingerMs: 0 });
  await measure('client send quorum', 3000, () => prod.send('p', { value }));
  await prod.close();
} finally {
  await client.close();
  await cluster.stopAll();
}
