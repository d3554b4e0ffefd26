import type { ShutdownSignal } from './context.js';

/**
 * SIGINT/SIGTERM as a promise. Handlers are installed on first use only, so commands that never
 * ask keep Node's default (die on Ctrl-C).
 */
export class ProcessShutdownSignal implements ShutdownSignal {
  #received: Promise<NodeJS.Signals> | undefined;
  readonly #repeatListeners: ((signal: NodeJS.Signals) => void)[] = [];

  get received(): Promise<NodeJS.Signals> {
    this.#received ??= new Promise<NodeJS.Signals>((resolve) => {
      let seen = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (!seen) {
          seen = true;
          resolve(signal);
          return;
        }
        for (const l of this.#repeatListeners) l(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    return this.#received;
  }

  onRepeat(listener: (signal: NodeJS.Signals) => void): void {
    void this.received;
    this.#repeatListeners.push(listener);
  }
}
