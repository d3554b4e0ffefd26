import { SUBSCRIBE_CREDIT_BYTES_MAX, SUBSCRIBE_CREDIT_RECORDS_MAX } from './constants.js';

/**
 * A subscription's credit (broker.proto `Credit`): grants add up; `bytes` counts the encoded size
 * of the batches pushed (the `Batch` messages as stored), `records` their record counts. A kind
 * the client has never granted (0 in every grant so far) does not limit, so a grant of records
 * alone delivers up to that many records; from its first grant on, a kind is counted. A batch may
 * be sent while every counted kind is positive and at least one kind has been granted; sending
 * subtracts and may overdraw, after which nothing is sent until grants make it positive again.
 */
export class CreditWindow {
  private bytes = 0;
  private records = 0;
  private bytesCounted = false;
  private recordsCounted = false;

  get bytesAvailable(): number {
    return this.bytes;
  }

  get recordsAvailable(): number {
    return this.records;
  }

  /** Bytes the next read may fetch: the byte credit, or `max` while bytes are not counted. */
  readBudget(max: number): number {
    return this.bytesCounted ? Math.min(this.bytes, max) : max;
  }

  /** Adds credit (clamped so counters stay exact). */
  grant(bytes: number, records: number): void {
    if (bytes > 0) {
      this.bytesCounted = true;
      this.bytes = Math.min(this.bytes + bytes, SUBSCRIBE_CREDIT_BYTES_MAX);
    }
    if (records > 0) {
      this.recordsCounted = true;
      this.records = Math.min(this.records + records, SUBSCRIBE_CREDIT_RECORDS_MAX);
    }
  }

  /** True while a batch may be sent. */
  canSend(): boolean {
    if (!this.bytesCounted && !this.recordsCounted) return false;
    return (!this.bytesCounted || this.bytes > 0) && (!this.recordsCounted || this.records > 0);
  }

  /** Charges a sent batch to the counted kinds. */
  consume(bytes: number, records: number): void {
    if (this.bytesCounted) this.bytes -= bytes;
    if (this.recordsCounted) this.records -= records;
  }
}
