import { describe, expect, it } from 'vitest';
import { CreditWindow } from '../src/credit-window.js';

/** Simulates broker + client: broker pushes batches while both credits are positive. */
function simulate(seed: number) {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const W = 1000;
  const R = 50;
  const win = new CreditWindow(W, R);
  let serverBytes = 0;
  let serverRecords = 0;
  const buffered: Array<[number, number]> = [];
  let maxBatch = 0;
  let bufBytes = 0;
  let bufRecords = 0;
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`seed ${seed}: ${what}`);
  };
  let streamGranted = false;
  const grant = (g: { bytes: number; records: number } | undefined) => {
    if (!g) return;
    serverBytes += g.bytes;
    serverRecords += g.records;
    // The broker does not count a kind never granted: a stream's first grant must give both.
    if (!streamGranted) check(g.bytes > 0 && g.records > 0, 'first grant gives both kinds');
    streamGranted = true;
  };
  grant(win.startStream());
  for (let step = 0; step < 5000; step++) {
    const action = rand(10);
    if (action < 5) {
      // broker pushes if allowed
      if (serverBytes > 0 && serverRecords > 0) {
        const bytes = 1 + rand(400);
        const records = 1 + rand(20);
        maxBatch = Math.max(maxBatch, bytes);
        serverBytes -= bytes;
        serverRecords -= records;
        win.received(bytes, records);
        buffered.push([bytes, records]);
        bufBytes += bytes;
        bufRecords += records;
      }
    } else if (action < 9) {
      const b = buffered.shift();
      if (b) {
        bufBytes -= b[0];
        bufRecords -= b[1];
        grant(win.consumed(b[0], b[1]));
      }
    } else {
      // stream breaks: outstanding credit is lost, resubscribe with what the window allows
      serverBytes = 0;
      serverRecords = 0;
      streamGranted = false;
      grant(win.startStream());
    }
    // granted-but-unpushed + buffered never exceeds the window, beyond a one-batch overdraw.
    check(Math.max(0, serverBytes) + bufBytes <= W + maxBatch, 'bytes window');
    check(serverBytes <= W && serverRecords <= R, 'outstanding credit within the window');
    check(bufRecords <= R + 20, 'records window');
    // liveness: with nothing buffered the broker can always push.
    if (buffered.length === 0) check(serverBytes > 0 && serverRecords > 0, 'liveness');
  }
}

describe('credit window', () => {
  it('grants the window at start and gives consumed credit back in chunks of at least half', () => {
    const w = new CreditWindow(100, 10);
    expect(w.startStream()).toEqual({ bytes: 100, records: 10 });
    w.received(30, 2);
    w.received(30, 2);
    expect(w.consumed(30, 2)).toBeUndefined();
    expect(w.consumed(30, 2)).toEqual({ bytes: 60, records: 4 });
    expect(w.buffered).toEqual({ bytes: 0, records: 0 });
  });

  it('after a resubscribe grants only what is not buffered, and pays back an overdraw first', () => {
    const w = new CreditWindow(100, 10);
    w.startStream();
    w.received(150, 1); // a big batch overdraws
    // Bytes are used up: no start credit (a records-only grant would leave bytes unlimited) ...
    expect(w.startStream()).toBeUndefined();
    // ... until consuming makes both kinds positive: then the whole window, both kinds at once.
    expect(w.consumed(150, 1)).toEqual({ bytes: 100, records: 10 });
  });

  it('keeps its invariants under random push / consume / reconnect sequences', () => {
    for (let seed = 1; seed <= 20; seed++) simulate(seed);
  });
});
