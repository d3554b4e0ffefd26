import type { Logger } from 'pino';
import { RunnelError } from '@runnel/protocol';
import { NO_ACK_DROP_LOG_INTERVAL_MS } from './constants.js';
import type { BuiltRecordSet } from './record-batch-builder.js';
import type { ReplicaDriver } from './replica-driver.js';

/** Why an ACKS_NONE produce was dropped (the metric's `reason` label). */
export type NoAckDropReason = 'partition_full';

export interface NoAckDropOptions {
  /** Gets the rate-limited warning (at most one line per NO_ACK_DROP_LOG_INTERVAL_MS). */
  readonly logger?: Logger;
  /** Metrics: told once per dropped request, with its record count. */
  readonly onDropped?: (topic: string, reason: NoAckDropReason, recordCount: number) => void;
}

/**
 * ACKS_NONE produces: appended without anyone waiting. One the partition cannot take now (its
 * bound on log writes and produces in flight is reached: TOO_MANY_REQUESTS) is dropped rather than
 * refused, since the client asked not to be told - that is what ACKS_NONE promises - and counted
 * (runnel_produce_dropped_records_total) and logged at most once per interval with the counts since
 * the last line. Any other refusal (not the leader, stopped) still answers the request with its error.
 */
export class NoAckDrops {
  readonly #log: Logger | undefined;
  readonly #onDropped: NoAckDropOptions['onDropped'];
  readonly #nowMs: () => number;
  #lastLogMs = -Infinity;
  #records = 0;
  #requests = 0;

  constructor(options: NoAckDropOptions, nowMs: () => number) {
    this.#log = options.logger?.child({ component: 'produce' });
    this.#onDropped = options.onDropped;
    this.#nowMs = nowMs;
  }

  /** Appends `built` to the partition `leader` leads; returns false when it was dropped. */
  append(leader: ReplicaDriver, built: BuiltRecordSet, topic: string, partition: number): boolean {
    try {
      leader.produceNoAck(built);
      return true;
    } catch (err) {
      if (!(err instanceof RunnelError) || err.code !== 'TOO_MANY_REQUESTS') throw err;
      this.#dropped(topic, partition, 'partition_full', built.recordCount);
      return false;
    }
  }

  #dropped(topic: string, partition: number, reason: NoAckDropReason, recordCount: number): void {
    this.#onDropped?.(topic, reason, recordCount);
    this.#records += recordCount;
    this.#requests++;
    const nowMs = this.#nowMs();
    if (this.#log === undefined || nowMs - this.#lastLogMs < NO_ACK_DROP_LOG_INTERVAL_MS) return;
    this.#log.warn(
      { topic, partition, reason, droppedRecords: this.#records, droppedRequests: this.#requests, sinceMs: Number.isFinite(this.#lastLogMs) ? nowMs - this.#lastLogMs : 0 },
      'acks none produces dropped: the partition cannot take more',
    );
    this.#lastLogMs = nowMs;
    this.#records = 0;
    this.#requests = 0;
  }
}
