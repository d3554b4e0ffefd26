import { once } from 'node:events';

/**
 * Where the command's output goes. The only module that writes to process.stdout and stderr;
 * commands take an `Output` so tests can capture it.
 */
export interface Output {
  /** Text for stdout (caller supplies newlines). */
  stdout(text: string): void;
  /** Text for stderr (caller supplies newlines). */
  stderr(text: string): void;
  /** Resolves once stdout has room again (a slow reader slows the command, not its memory). */
  stdoutWritable(): Promise<void>;
  /** Resolves once everything written so far has been handed to the OS (call before exiting). */
  flush(): Promise<void>;
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

export const processOutput: Output = {
  stdout(text) {
    process.stdout.write(text);
  },
  stderr(text) {
    process.stderr.write(text);
  },
  async stdoutWritable() {
    if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
  },
  async flush() {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  },
};

/** An Output that keeps everything, for tests. */
export function memoryOutput(): Output & { readonly out: string[]; readonly err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout(text) {
      out.push(text);
    },
    stderr(text) {
      err.push(text);
    },
    stdoutWritable: () => Promise.resolve(),
    flush: () => Promise.resolve(),
  };
}
