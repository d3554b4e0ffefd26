/** Protocol-wide bounds shared by servers and clients. */

/** Largest gRPC message any Runnel process sends or accepts. */
export const GRPC_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;

/** Largest max_message_bytes a topic may set. */
export const TOPIC_MESSAGE_BYTES_MAX = 8 * 1024 * 1024;

/** Default max_message_bytes of a topic. */
export const TOPIC_MESSAGE_BYTES_DEFAULT = 1024 * 1024;

/** Largest produce request (encoded records) a broker accepts as one batch. */
export const PRODUCE_BATCH_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Records one produce request (Produce, or one ProduceStream request) may carry; beyond:
 * TOO_MANY_RECORDS, nothing written. Chosen so the largest allowed request is decoded, encoded and
 * appended in a few ms of event-loop time (a 1,000,000-record request used to hold it for seconds).
 */
export const PRODUCE_RECORDS_MAX = 10_000;

/** Headers one record may carry; beyond: INVALID_REQUEST, nothing written. */
export const RECORD_HEADERS_MAX = 100;

/**
 * Encoded fields one request message may hold in all, counted on the wire before it is decoded:
 * every field at every depth, every element of a repeated field and every map entry with its key
 * and value count one (a record with a key, a value and a timestamp is 4). Beyond: INVALID_REQUEST.
 * Bounds the decode time of any request, whatever its shape, to a few tens of ms.
 */
export const REQUEST_FIELDS_MAX = 200_000;

/** Status and error messages are cut to this many characters (so they fit any client's trailer limit). */
export const ERROR_MESSAGE_CHARS_MAX = 1_024;

export const PARTITIONS_MAX = 10_000;
export const REPLICATION_FACTOR_MAX = 5;

/** Channel / server options every Runnel gRPC endpoint uses. */
export const GRPC_CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': GRPC_MESSAGE_BYTES_MAX,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.max_pings_without_data': 0,
  // grpc-js backs reconnects off up to 120 s by default: a peer back after a restart or a healed
  // partition would sit unused for minutes. Cap it so failover stays in seconds.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
} as const;

export const GRPC_SERVER_OPTIONS = {
  'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': GRPC_MESSAGE_BYTES_MAX,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
} as const;
