/**
 * Operating errors of the storage layer. Codes are a subset of the protocol's error table
 * (packages/protocol/src/errors.ts), so the broker can pass them on by `code` without storage
 * importing @runnel/protocol at run time. Programmer errors are `assert`s, not these.
 */
export type StorageErrorCode =
  | 'INVALID_REQUEST'
  | 'OFFSET_OUT_OF_RANGE'
  | 'STORAGE_ERROR'
  | 'TOO_MANY_REQUESTS'
  | 'SHUTTING_DOWN';

const RETRIABLE: Readonly<Record<StorageErrorCode, boolean>> = {
  INVALID_REQUEST: false,
  OFFSET_OUT_OF_RANGE: false,
  STORAGE_ERROR: false,
  TOO_MANY_REQUESTS: true,
  SHUTTING_DOWN: true,
};

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly retriable: boolean;

  constructor(code: StorageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
    this.retriable = RETRIABLE[code];
  }
}
