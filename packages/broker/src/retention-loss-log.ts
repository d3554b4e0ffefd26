import type { Logger } from 'pino';
import { RETENTION_LOSS_LOG_INTERVAL_MS, RETENTION_LOSS_LOG_PARTITIONS_MAX } from './constants.js';

/** Which read API refused the offset. */
export type ReadApi = 'fetch' | 'subscribe';

/**
 * Logs a consumer asking for an offset retention has already deleted (it is answered
 * OFFSET_OUT_OF_RANGE): one warn event per partition and API at most every
 * RETENTION_LOSS_LOG_INTERVAL_MS, naming topic, partition, requested offset, log start and the
 * offsets lost, with how many such refusals the interval suppressed. A consumer retrying in a loop
 * cannot flood the log; the tracked partitions are bounded (the map starts over beyond the bound).
 */
export class RetentionLossLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(private readonly log: Logger, private readonly nowMs: () => number = Date.now) {}

  report(api: ReadApi, topic: string, partition: number, requestedOffset: number, logStartOffset: number): void {
    const key = `${api}\u0000${topic}\u0000${partition}`;
    const now = this.nowMs();
    const seen = this.last.get(key);
    if (seen !== undefined && now - seen.atMs < RETENTION_LOSS_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    if (seen === undefined && this.last.size >= RETENTION_LOSS_LOG_PARTITIONS_MAX) this.last.clear();
    this.last.set(key, { atMs: now, suppressed: 0 });
    this.log.warn(
      { topic, partition, api, requestedOffset, logStartOffset, lostOffsets: logStartOffset - requestedOffset, suppressed: seen?.suppressed ?? 0 },
      'consumer offset deleted by retention',
    );
  }
}
