export { checkHistory, isViolation, ANOMALY_KINDS, DETAIL_ITEMS_MAX, FINAL_LOG_SESSION } from './checker.js';
export { formatAnomalies, FORMAT_EXAMPLES_DEFAULT } from './format.js';
export type {
  Anomaly,
  AnomalyKind,
  CheckInput,
  CheckResult,
  CommitCompletion,
  CommitInvoke,
  Completion,
  HistoryEvent,
  HoldEvent,
  NemesisEvent,
  PartitionLog,
  ProduceCompletion,
  ProduceInvoke,
  ReadCompletion,
  ReadInvoke,
  ReplicaPrefix,
  WallMs,
} from './history-types.js';
