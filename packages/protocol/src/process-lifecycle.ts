import type { Logger } from 'pino';

/** The message a Runnel process sends on its IPC channel (if any) once it serves. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly role: 'coordinator' | 'broker';
  readonly id: number;
  readonly address: string;
  readonly pid: number;
}

/** Logs the ready event and, when started with an IPC channel, tells the parent. */
export function announceReady(log: Logger, message: Omit<ReadyMessage, 'type' | 'pid'>): void {
  const full: ReadyMessage = { type: 'ready', pid: process.pid, ...message };
  log.info({ event: 'ready', role: full.role, id: full.id, address: full.address }, 'ready');
  if (process.send !== undefined && process.connected) process.send(full);
}

/**
 * Bound on a clean stop (a broker's controlled shutdown moves its leaderships first, bounded at 8 s);
 * past it the process exits 1 so a supervisor is never left waiting.
 */
export const SHUTDOWN_MS_MAX = 15_000;

/**
 * Runs `stop` once on SIGINT or SIGTERM (a second signal forces exit 1), then exits 0; exits 1 if
 * `stop` throws or takes longer than SHUTDOWN_MS_MAX. Also drops the IPC channel so a parent
 * that dies does not keep the child alive through it.
 */
export function exitOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      log.error({ shutdownMsMax: SHUTDOWN_MS_MAX }, 'stop took too long, exiting');
      process.exit(1);
    }, SHUTDOWN_MS_MAX);
    timer.unref();
    stop().then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        log.flush?.();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A supervisor that dies must not leave orphans behind: the IPC channel closing is our cue.
  if (process.send !== undefined) process.on('disconnect', () => onSignal('SIGTERM'));
}

/**
 * Turns `--foo-bar`-style option names into RUNNEL_FOO_BAR and reads them from `env`, for
 * flags not given on the command line. Only process entry points call this.
 */
export function envOptions(names: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const key = `RUNNEL_${name.replace(/-/g, '_').toUpperCase()}`;
    const v = env[key];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}
