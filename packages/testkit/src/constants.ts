/** Bounds and defaults of the testkit's process supervision. */

/** Brokers started by default. */
export const BROKERS_DEFAULT = 3;

/** How long a process may take to send its ready message. */
export const READY_TIMEOUT_MS_DEFAULT = 30_000;

/**
 * How long a SIGTERM'd process may take to exit before it is SIGKILLed. Processes bound their own
 * clean stop at 15 s (SHUTDOWN_MS_MAX in @runnel/protocol); this leaves a margin over that.
 */
export const STOP_WAIT_MS_MAX = 20_000;

/** How long to wait for a SIGKILLed process to be reaped. */
export const KILL_WAIT_MS_MAX = 5_000;

/** Bytes of a process log shown when it fails to start. */
export const LOG_TAIL_BYTES_MAX = 4_096;

/** Deadline of one health check or metadata call made while polling. */
export const PROBE_TIMEOUT_MS = 2_000;

/** Default polling interval of waitFor. */
export const POLL_INTERVAL_MS_DEFAULT = 50;

/** Loopback interface every process listens on. */
export const LOOPBACK_HOST = '127.0.0.1';

/** Broker ids are 1..brokers; this is the most a test cluster starts. */
export const BROKERS_MAX = 32;
