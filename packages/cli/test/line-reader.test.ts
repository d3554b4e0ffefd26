import { describe, expect, it } from 'vitest';
import { readLines } from '../src/line-reader.js';
import { SendWindow } from '../src/send-window.js';

async function* chunksOf(chunks: string[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield Buffer.from(c);
}

async function lines(chunks: string[], max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(chunksOf(chunks), max)) out.push(l.toString());
  return out;
}

describe('readLines', () => {
  it('splits across chunk boundaries, strips CR, keeps a last unterminated line', async () => {
    expect(await lines(['a\nb', 'c\r\n', '\nd'])).toEqual(['a', 'bc', '', 'd']);
    expect(await lines(['x\n'])).toEqual(['x']);
    expect(await lines([])).toEqual([]);
  });

  it('refuses a line longer than the bound', async () => {
    await expect(lines(['aaaa', 'bbbb'], 6)).rejects.toThrow(/longer than 6 bytes/);
  });
});

describe('SendWindow', () => {
  it('reports outcomes in send order and bounds what is outstanding', async () => {
    const settled: string[] = [];
    const resolvers: (() => void)[] = [];
    const window = new SendWindow<number>(2, 1_000, (i, o) => settled.push(`${i}:${o.ok ? 'ok' : 'fail'}`));
    const deferred = (i: number, ok: boolean): Promise<number> => new Promise((resolve, reject) => { resolvers[i] = () => (ok ? resolve(i) : reject(new Error('x'))); });
    await window.push(0, 1, deferred(0, true));
    await window.push(1, 1, deferred(1, false));
    const third = window.push(2, 1, deferred(2, true)); // over the bound: waits for #0
    resolvers[1]?.();
    resolvers[2]?.();
    expect(window.size).toBe(3);
    resolvers[0]?.();
    await third;
    await window.drain();
    expect(settled).toEqual(['0:ok', '1:fail', '2:ok']);
  });
});
