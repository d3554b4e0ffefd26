// A consumer-group member as its own process, for the group tests: consumes with auto-commit
// (at-least-once) and prints one JSON line per event on stdout:
//   {"e":"start","t":ms}                                  consumer created
//   {"e":"a","parts":["topic/p",...],"t":ms}               its assignment changed (sampled every 5 ms)
//   {"e":"p","p":partition,"o":offset,"v":value,"s":ms,"f":ms}  a record processed from s to f
// Arguments: bootstrap group topic sessionTimeoutMs [processMs]. SIGTERM closes (commit + leave).
import { RunnelClient } from '@runnel/client';

const [bootstrap, group, topic, sessionTimeoutMs, processMs = '1'] = process.argv.slice(2);
const client = new RunnelClient({ bootstrap });
const consumer = client.consumer({ group, topic, from: 'earliest', sessionTimeoutMs: Number(sessionTimeoutMs), autoCommitIntervalMs: 200 });
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
out({ e: 'start', t: Date.now() });
let last = '';
const sampler = setInterval(() => {
  const parts = consumer.assignment().map((x) => `${x.topic}/${x.partition}`).sort();
  const key = parts.join(',');
  if (key !== last) {
    last = key;
    out({ e: 'a', parts, t: Date.now() });
  }
}, 5);
process.on('SIGTERM', () => {
  clearInterval(sampler);
  consumer.close().then(() => client.close()).then(() => process.exit(0), () => process.exit(1));
});
const wait = Number(processMs);
try {
  for await (const r of consumer) {
    const s = Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    out({ e: 'p', p: r.partition, o: r.offset, v: r.value.toString(), s, f: Date.now() });
  }
} catch (err) {
  out({ e: 'error', code: err.code, message: err.message, t: Date.now() });
  process.exit(2);
}
