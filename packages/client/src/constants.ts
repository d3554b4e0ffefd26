/** Named bounds and defaults of the client. Every queue, window, batch and retry loop has one. */

export const BOOTSTRAP_DEFAULT = '127.0.0.1:7400';

/** Deadline of every unary call, and how long a produce request may stay unanswered. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/** Brokers cap a produce request's `timeout_ms` at this. */
export const PRODUCE_TIMEOUT_MS_MAX = 120_000;
/** Extra time the client waits for a produce answer beyond the broker-side ack timeout. */
export const PRODUCE_ANSWER_GRACE_MS = 1_000;

export const RETRIES_MAX_DEFAULT = 8;
export const RETRIES_MAX_LIMIT = 100;
export const INITIAL_BACKOFF_MS_DEFAULT = 50;
export const BACKOFF_MS_MAX_DEFAULT = 2_000;

/** Reconnect backoff of the WatchMetadata stream and of consumer resubscriptions (unbounded count). */
export const RECONNECT_BACKOFF_MS_INITIAL = 50;
export const RECONNECT_BACKOFF_MS_MAX = 2_000;

export const ACKS_DEFAULT = 'quorum';
export const LINGER_MS_DEFAULT = 2;
export const LINGER_MS_MAX = 60_000;
export const BATCH_BYTES_MAX_DEFAULT = 256 * 1024;
/** A batch never holds more records than this, whatever their size. */
export const BATCH_RECORDS_MAX = 10_000;
export const IN_FLIGHT_REQUESTS_MAX_DEFAULT = 32;
export const IN_FLIGHT_REQUESTS_MAX_LIMIT = 1_024;
export const BUFFER_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;

/** Per-record framing allowance used when estimating a record's encoded size. */
export const RECORD_OVERHEAD_BYTES = 24;
/** Per-header framing allowance. */
export const HEADER_OVERHEAD_BYTES = 8;

export const CREDIT_BYTES_DEFAULT = 1024 * 1024;
export const CREDIT_RECORDS_DEFAULT = 10_000;
export const CREDIT_BYTES_MAX = 256 * 1024 * 1024;
export const CREDIT_RECORDS_MAX = 1_000_000;

/** Batch attribute bit 0: control batch, never delivered to consumers. */
export const BATCH_ATTRIBUTE_CONTROL = 1;

/** How many brokers a metadata refresh asks (GetMetadata) when the coordinator cannot be reached. */
export const METADATA_FALLBACK_BROKERS_MAX = 3;

/** Consumer groups: how often a member checks whether its session may have expired (self-fencing). */
export const GROUP_FENCE_CHECK_MS = 100;
export const GROUP_SESSION_TIMEOUT_MS_DEFAULT = 10_000;
/** Auto-commit of processed positions, at most this often (plus on revocation and close). */
export const GROUP_AUTO_COMMIT_INTERVAL_MS_DEFAULT = 1_000;

/**
 * Group lag (describeGroup): bytes read from the committed offset to count the unread data records
 * exactly (epoch-start markers are not delivered, so not lag); beyond them the rest is estimated.
 */
export const LAG_FETCH_BYTES = 256 * 1024;
/** Group lag: partitions read at once. */
export const LAG_FETCHES_IN_FLIGHT_MAX = 8;
