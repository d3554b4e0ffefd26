import type { ShutdownSignal } from './context.js';

/**
 * A signal this soon after the first is the same request arriving twice, not a second one: under
 * `npm start`, one Ctrl-C reaches the CLI from the terminal (the whole foreground process group)
 * and again forwarded by npm, which relays SIGINT and SIGTERM to its child.
 */
export const REPEAT_SIGNAL_MS_MIN = 1_000;

/** How often the parent process is checked for (a changed parent PID means it has exited). */
export const PARENT_CHECK_INTERVAL_MS = 500;

/**
 * SIGINT, SIGTERM or a hang-up as a promise. A hang-up is SIGHUP (the terminal closed) or the
 * parent process exiting, even by SIGKILL (npm, a script): both resolve as 'SIGHUP', so a command
 * that stops on a signal never outlives whoever started it. Handlers are installed on first use
 * only, so commands that never ask keep Node's default (die on Ctrl-C).
 */
export class ProcessShutdownSignal implements ShutdownSignal {
  #received: Promise<NodeJS.Signals> | undefined;
  readonly #repeatListeners: ((signal: NodeJS.Signals) => void)[] = [];

  get received(): Promise<NodeJS.Signals> {
    this.#received ??= new Promise<NodeJS.Signals>((resolve) => {
      let firstAtMs: number | undefined;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (firstAtMs === undefined) {
          firstAtMs = Date.now();
          resolve(signal);
          return;
        }
        if (Date.now() - firstAtMs < REPEAT_SIGNAL_MS_MIN) return;
        for (const l of this.#repeatListeners) l(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      // An orphan is re-parented (to init or a subreaper): its parent PID changes.
      const parentPid = process.ppid;
      const parentCheck = setInterval(() => {
        if (process.ppid === parentPid) return;
        clearInterval(parentCheck);
        onSignal('SIGHUP');
      }, PARENT_CHECK_INTERVAL_MS);
      parentCheck.unref();
    });
    return this.#received;
  }

  onRepeat(listener: (signal: NodeJS.Signals) => void): void {
    void this.received;
    this.#repeatListeners.push(listener);
  }
}
