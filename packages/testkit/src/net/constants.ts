/** Bounds and defaults of the fault-injecting proxy (packages/testkit/src/net). */

/**
 * Bytes a proxy holds per connection direction while it delays or slows traffic. Beyond this the
 * source socket is paused (TCP backpressure reaches the sender); it resumes below half of it.
 */
export const BUFFER_BYTES_MAX_DEFAULT = 8 * 1024 * 1024;

/**
 * The most one socket read hands over in a 'data' event (libuv reads into 64 KiB buffers). A lane
 * pauses its source while fewer than this many bytes of room are left, so its queue never exceeds
 * its bound.
 */
export const SOCKET_READ_BYTES_MAX = 64 * 1024;

/** The smallest buffer bound a proxy accepts: two socket reads. */
export const BUFFER_BYTES_MAX_MIN = 2 * SOCKET_READ_BYTES_MAX;

/** Chunks a lane queues per connection direction, whatever their size (bounds per-chunk overhead). */
export const QUEUED_CHUNKS_MAX = 16_384;

/** Largest delay or jitter a 'delay' fault accepts. */
export const FAULT_DELAY_MS_MAX = 60_000;

/** Slowest bandwidth a 'slow' fault accepts. */
export const FAULT_BYTES_PER_SECOND_MIN = 1;

/** A 'slow' lane releases data in slices of at most this many bytes, so delivery is smooth. */
export const SLOW_SLICE_BYTES_MAX = 16 * 1024;

/** ... and of at least this many, which bounds the slices one socket read becomes. */
export const SLOW_SLICE_BYTES_MIN = 1024;

/** A slice carries at most this share of a second of bandwidth (1/50 s = 20 ms). */
export const SLOW_SLICES_PER_SECOND = 50;

/** How long the proxy waits for the target to accept a connection before closing the client. */
export const TARGET_CONNECT_TIMEOUT_MS = 5_000;

/** Seed of the jitter PRNG when none is given. */
export const SEED_DEFAULT = 1;
