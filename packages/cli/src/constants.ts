/** Defaults and bounds of the runnel command. */

export const BOOTSTRAP_DEFAULT = '127.0.0.1:7400';
export const BASE_PORT_DEFAULT = 7400;
export const BROKERS_DEFAULT = 3;
export const BROKERS_MAX = 32;
export const DATA_DIR_DEFAULT = './data';
export const LOG_LEVEL_DEFAULT = 'info';

/** Exit codes. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** produce: records sent but not yet acknowledged (bounds memory whatever stdin holds). */
export const PRODUCE_WINDOW_RECORDS_MAX = 8_192;
/** produce: bytes of values sent but not yet acknowledged. */
export const PRODUCE_WINDOW_BYTES_MAX = 16 * 1024 * 1024;
/** produce: the longest stdin line accepted (a longer one is an error, not a memory blow-up). */
export const LINE_BYTES_MAX = 8 * 1024 * 1024;
/** produce --count: the largest synthetic record. */
export const SYNTHETIC_RECORD_BYTES_MAX = 8 * 1024 * 1024;
/** produce --count: ack latencies kept for percentiles (a uniform sample beyond this). */
export const LATENCY_SAMPLES_MAX = 1_000_000;

/** status: deadline of each health check and of DescribeCluster. */
export const STATUS_PROBE_TIMEOUT_MS = 3_000;
