// "The pure core never logs, reads the clock, or imports grpc/level/pino" (STYLE.md): checked on
// the source text of every file in src/, simulator included.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\.now\b|\bnew Date\b/, 'reads the wall clock'],
  [/\bperformance\.now\b|\bprocess\.hrtime\b/, 'reads a clock'],
  [/\bMath\.random\b/, 'uses unseeded randomness'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bqueueMicrotask\b/, 'schedules timers'],
  [/\bprocess\./, 'touches the process'],
  [/\bconsole\./, 'logs'],
  [/\bfrom\s+['"](?:@grpc\/|grpc|level|classic-level|pino|node:)[^'"]*['"]/, 'imports I/O'],
  [/\bimport\(\s*['"]/, 'imports dynamically'],
  [/\brequire\(/, 'requires'],
  [/\bfrom\s+['"]@runnel\//, 'depends on another package'],
];

describe('the replication core is pure', () => {
  const files = sourceFiles(SRC);

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(8);
  });

  for (const file of files) {
    it(`${file.slice(SRC.length + 1)}: no clock, no unseeded randomness, no timers, no process, no logging, no I/O imports`, () => {
      const text = withoutComments(readFileSync(file, 'utf8'));
      const problems = FORBIDDEN.filter(([re]) => re.test(text)).map(([, why]) => why);
      expect(problems).toEqual([]);
    });
  }

  it('relative imports carry the .js suffix and type-only imports use `import type`', () => {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from\s+['"](\.[^'"]*)['"]/g)) expect(m[1], file).toMatch(/\.js$/);
    }
  });
});
