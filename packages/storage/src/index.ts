export type {
  AppendRecordsInput,
  AppendResult,
  BatchHeader,
  EpochEntry,
  FsyncPolicy,
  MetaStore,
  PartitionKey,
  PartitionLog,
  ReadOptions,
} from './contract.js';
export { Store, type StoreOptions, type StorePartitionLog } from './store.js';
export type { GroupCommitStats } from './group-commit.js';
export { parseFsyncPolicy, formatFsyncPolicy } from './fsync-policy.js';
export { encodeBatch, decodeBatchHeader, verifyBatch, type BatchFields, type BatchLayout } from './batch-codec.js';
export { BATCH_ATTRIBUTE_CONTROL } from './constants.js';
export { StorageError, type StorageErrorCode } from './storage-error.js';
