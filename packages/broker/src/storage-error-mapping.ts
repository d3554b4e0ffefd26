import { RunnelError, isErrorCode } from '@runnel/protocol';

/**
 * Storage throws its own StorageError whose codes are a subset of the protocol's table; this turns
 * one (matched by its code, never its text) into a RunnelError. Anything else becomes STORAGE_ERROR.
 */
export function fromStorageError(err: unknown): RunnelError {
  if (err instanceof RunnelError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && isErrorCode(code)) return new RunnelError(code, message, { cause: err });
  return new RunnelError('STORAGE_ERROR', `storage failed: ${message}`, { cause: err });
}
