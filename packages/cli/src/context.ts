import type { Logger } from 'pino';
import type { Output } from './output.js';

/** Resolves on the first SIGINT or SIGTERM; `onRepeat` listeners hear the ones after it. */
export interface ShutdownSignal {
  readonly received: Promise<NodeJS.Signals>;
  onRepeat(listener: (signal: NodeJS.Signals) => void): void;
}

/** What main.ts hands every command: the process's edges, so commands never touch globals. */
export interface CommandContext {
  readonly output: Output;
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly cwd: string;
  /** For the client library and cluster supervision; writes to stderr. */
  readonly logger: Logger;
  readonly shutdown: ShutdownSignal;
}
