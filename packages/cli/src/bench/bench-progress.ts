import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Output } from '../output.js';

/** What a workload tells the person watching. */
export interface BenchProgress {
  /** A new phase (e.g. "throughput-1p-100b: produce") of `total` records. */
  start(label: string, total: number): void;
  /** Records done so far in the current phase. */
  update(done: number): void;
  /** The phase is over; `summary` is one line about it. */
  finish(summary: string): void;
  /** The workload failed. */
  failed(workload: string, message: string): void;
  /** Leaves the terminal as it was (after an error too). */
  stop(): void;
}

/** Where the progress goes: stderr, drawn as a bar on a terminal or as one line per phase elsewhere. */
export interface ProgressTerminal {
  readonly isTTY: boolean;
  readonly columns: number;
}

/** No output at all. */
export const SILENT_PROGRESS: BenchProgress = {
  start: () => undefined,
  update: () => undefined,
  finish: () => undefined,
  failed: () => undefined,
  stop: () => undefined,
};

/** A Writable that cli-progress can draw on, forwarding to the command's stderr. */
function stderrStream(output: Output, terminal: ProgressTerminal): NodeJS.WritableStream {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      output.stderr(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
  // readline's cursor helpers (used by cli-progress) only need write(); these tell it how to draw.
  return Object.assign(stream, { isTTY: terminal.isTTY, columns: terminal.columns });
}

/** A bar per phase on a terminal (cli-progress); otherwise one line per finished phase. */
export function stderrProgress(output: Output, terminal: ProgressTerminal): BenchProgress {
  if (!terminal.isTTY) {
    let label = '';
    return {
      start: (l) => { label = l; },
      update: () => undefined,
      finish: (summary) => output.stderr(`bench: ${label}: ${summary}\n`),
      failed: (workload, message) => output.stderr(`bench: ${workload}: FAILED: ${message}\n`),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar({
    stream: stderrStream(output, terminal),
    format: '{label} [{bar}] {percentage}% | {value}/{total} records | {duration_formatted}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  }, cliProgress.Presets.shades_classic);
  let active = false;
  let label = '';
  return {
    start: (l, total) => {
      if (active) bar.stop();
      label = l;
      bar.start(total, 0, { label });
      active = true;
    },
    update: (done) => {
      if (active) bar.update(done);
    },
    finish: (summary) => {
      if (active) bar.stop();
      active = false;
      output.stderr(`bench: ${label}: ${summary}\n`);
    },
    failed: (workload, message) => {
      if (active) bar.stop();
      active = false;
      output.stderr(`bench: ${workload}: FAILED: ${message}\n`);
    },
    stop: () => {
      if (active) bar.stop();
      active = false;
    },
  };
}
