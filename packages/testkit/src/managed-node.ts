import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ReadyMessage } from '@runnel/protocol';
import { KILL_WAIT_MS_MAX, LOOPBACK_HOST, STOP_WAIT_MS_MAX } from './constants.js';
import type { Role } from './locate.js';
import { readLogTail } from './log-tail.js';

/** A coordinator or broker process of a test cluster, as callers see it (a live view). */
export interface NodeHandle {
  readonly role: Role;
  /** Broker id (1-based); 0 for the coordinator. */
  readonly id: number;
  /** host:port it serves on (the address from its ready message once it has started). */
  readonly address: string;
  /** PID of the most recently started process (kept after it exits); undefined before the first start. */
  readonly pid: number | undefined;
  /** True from spawn until its exit has been observed. */
  readonly running: boolean;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  /** File its stdout and stderr are appended to. */
  readonly logFile: string;
  /** Its own data folder. */
  readonly dataDir: string;
}

/** How a process ended; `expected` is false when nobody asked it to stop. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly expected: boolean;
}

export interface ManagedNodeSpec {
  readonly role: Role;
  readonly id: number;
  readonly mainJs: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Port to ask for on the first start (0 = the process picks one). */
  readonly port: number;
  /** Command-line flags for a start on `port`. */
  readonly args: (port: number) => readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

function isReadyMessage(m: unknown): m is ReadyMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Partial<ReadyMessage>;
  return r.type === 'ready' && typeof r.address === 'string';
}

function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`ready message carries a bad address: ${address}`);
  return port;
}

/** Resolves with the exit, or with undefined once `ms` pass. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One supervised process: spawn, wait for its ready message, signal it by PID, observe its exit.
 * Processes are detached (their own process group) so that a terminal's Ctrl-C reaches only the
 * supervisor, which stops them in order; a supervisor that dies closes their IPC channel, which
 * makes them stop themselves.
 */
export class ManagedNode implements NodeHandle {
  readonly role: Role;
  readonly id: number;
  readonly logFile: string;
  readonly dataDir: string;
  /** Called after every exit (expected or not). */
  onExit: ((node: ManagedNode, exit: ExitInfo) => void) | undefined;

  readonly #spec: ManagedNodeSpec;
  #port: number;
  #address: string;
  #child: ChildProcess | undefined;
  #pid: number | undefined;
  #running = false;
  #paused = false;
  #expectingExit = false;
  #exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null, expected: true });

  constructor(spec: ManagedNodeSpec) {
    this.#spec = spec;
    this.role = spec.role;
    this.id = spec.id;
    this.logFile = spec.logFile;
    this.dataDir = spec.dataDir;
    this.#port = spec.port;
    this.#address = `${LOOPBACK_HOST}:${spec.port}`;
  }

  get name(): string {
    return this.role === 'coordinator' ? 'coordinator' : `broker-${this.id}`;
  }
  get address(): string {
    return this.#address;
  }
  get pid(): number | undefined {
    return this.#pid;
  }
  get running(): boolean {
    return this.#running;
  }
  get paused(): boolean {
    return this.#paused;
  }
  /** Resolves when the current (or last) process has exited. */
  get exited(): Promise<ExitInfo> {
    return this.#exited;
  }

  /** Spawns the process and resolves once it has sent its ready message. */
  async start(readyTimeoutMs: number): Promise<void> {
    if (this.#running) throw new Error(`${this.name} is already running (pid ${this.#pid ?? '?'})`);
    await mkdir(this.dataDir, { recursive: true });
    await mkdir(dirname(this.logFile), { recursive: true });
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.#spec.mainJs, ...this.#spec.args(this.#port)], {
        stdio: ['ignore', fd, fd, 'ipc'],
        detached: true,
        env: this.#spec.env,
      });
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    this.#pid = child.pid;
    this.#running = true;
    this.#paused = false;
    this.#expectingExit = false;
    this.#exited = new Promise<ExitInfo>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        this.#running = false;
        this.#paused = false;
        const info: ExitInfo = { code, signal, expected: this.#expectingExit };
        resolve(info);
        this.onExit?.(this, info);
      };
      child.once('exit', finish);
      // Spawn failures emit 'error' and may never emit 'exit'.
      child.once('error', () => { if (child.pid === undefined) finish(null, null); });
    });

    type Outcome = { kind: 'ready'; message: ReadyMessage } | { kind: 'exit'; exit: ExitInfo } | { kind: 'timeout' };
    const outcome = await new Promise<Outcome>((resolve) => {
      const onMessage = (m: unknown): void => {
        if (isReadyMessage(m)) finish({ kind: 'ready', message: m });
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), readyTimeoutMs);
      function finish(o: Outcome): void {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(o);
      }
      child.on('message', onMessage);
      void this.#exited.then((exit) => finish({ kind: 'exit', exit }));
    });

    if (outcome.kind === 'ready') {
      this.#address = outcome.message.address;
      this.#port = portOf(outcome.message.address);
      // Neither the process nor its IPC channel keeps the supervisor's event loop alive.
      child.unref();
      child.channel?.unref?.();
      return;
    }
    if (outcome.kind === 'timeout') {
      this.#expectingExit = true;
      this.#signal('SIGKILL');
      await within(this.#exited, KILL_WAIT_MS_MAX);
      throw new Error(`${this.name} (pid ${this.#pid ?? '?'}) was not ready within ${readyTimeoutMs} ms; last lines of ${this.logFile}:\n${await readLogTail(this.logFile)}`);
    }
    const { code, signal } = outcome.exit;
    throw new Error(`${this.name} (pid ${this.#pid ?? '?'}) exited before it was ready (code ${String(code)}, signal ${String(signal)}); last lines of ${this.logFile}:\n${await readLogTail(this.logFile)}`);
  }

  /** Sends a signal to the process by PID if it is running; false if it is not. */
  #signal(signal: NodeJS.Signals): boolean {
    if (!this.#running || this.#pid === undefined) return false;
    try {
      process.kill(this.#pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL; resolves once it has exited (at once if it is not running). */
  async kill(): Promise<ExitInfo> {
    if (!this.#running) return this.#exited;
    this.#expectingExit = true;
    this.#signal('SIGKILL');
    const exit = await within(this.#exited, KILL_WAIT_MS_MAX);
    if (exit === undefined) throw new Error(`${this.name} (pid ${this.#pid ?? '?'}) did not exit within ${KILL_WAIT_MS_MAX} ms of SIGKILL`);
    return exit;
  }

  /**
   * SIGTERM (and SIGCONT if paused); resolves once it has exited with code 0. Rejects if it exits
   * otherwise, or is still running after STOP_WAIT_MS_MAX (it is then SIGKILLed).
   */
  async stop(): Promise<ExitInfo> {
    const exit = await this.terminate();
    if (exit.forced) throw new Error(`${this.name} (pid ${this.#pid ?? '?'}) did not stop within ${STOP_WAIT_MS_MAX} ms of SIGTERM and was killed`);
    if (exit.code !== 0) {
      throw new Error(`${this.name} (pid ${this.#pid ?? '?'}) stopped with code ${String(exit.code)}, signal ${String(exit.signal)}; last lines of ${this.logFile}:\n${await readLogTail(this.logFile)}`);
    }
    return exit;
  }

  /** SIGTERM, then SIGKILL after STOP_WAIT_MS_MAX. Never rejects for the exit status. */
  async terminate(): Promise<ExitInfo & { forced: boolean }> {
    if (!this.#running) return { ...(await this.#exited), forced: false };
    this.#expectingExit = true;
    this.#signal('SIGTERM');
    if (this.#paused) this.#signal('SIGCONT');
    const exit = await within(this.#exited, STOP_WAIT_MS_MAX);
    if (exit !== undefined) return { ...exit, forced: false };
    return { ...(await this.kill()), forced: true };
  }

  /** SIGSTOP: the process freezes (its sockets stay open). */
  pause(): void {
    if (!this.#running) throw new Error(`${this.name} is not running`);
    this.#signal('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    if (!this.#running) throw new Error(`${this.name} is not running`);
    this.#signal('SIGCONT');
    this.#paused = false;
  }

  /** Last-resort synchronous SIGKILL (for process 'exit' handlers). */
  killNow(): void {
    this.#expectingExit = true;
    this.#signal('SIGKILL');
  }
}
