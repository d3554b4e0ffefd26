import type { Logger } from 'pino';
import type { ReplicaDriver } from './replica-driver.js';

/**
 * Every `intervalMs`, applies each hosted replica's topic retention (time and size) below its HW
 * (leaders and followers alike: each replica's HW bounds what it may delete).
 * One pass at a time; close() stops the timer and waits for a running pass.
 */
export class RetentionLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly leaders: () => readonly ReplicaDriver[],
    private readonly logger: Logger,
    private readonly nowMs: () => number,
  ) {}

  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.runOnce().catch((err: unknown) => this.logger.error({ err }, 'retention pass failed')).finally(() => {
        this.running = undefined;
      });
    }, this.intervalMs);
  }

  /** One pass over every partition replica hosted here. Failures are logged per partition. */
  async runOnce(): Promise<void> {
    for (const leader of this.leaders()) {
      if (this.closed) return;
      const { retentionMs, retentionBytes } = leader.settings;
      if (retentionMs < 0 && retentionBytes < 0) continue;
      try {
        const deletedRecords = await leader.applyRetention(this.nowMs());
        if (deletedRecords > 0) {
          this.logger.info({ topic: leader.topic, partition: leader.partition, deletedRecords, logStartOffset: leader.logStartOffset }, 'retention deleted old batches');
        }
      } catch (err) {
        this.logger.error({ err, topic: leader.topic, partition: leader.partition }, 'retention failed');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
