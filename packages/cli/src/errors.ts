import { RunnelError } from '@runnel/protocol';

/** A command used wrongly (bad flag value, missing combination): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The one line an error is reported as: `error: <code>: <message>` (or `error: <message>`). */
export function formatError(err: unknown): string {
  if (err instanceof RunnelError) return `error: ${err.code}: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}
