import { SUBSCRIBE_CREDIT_BYTES_MAX, SUBSCRIBE_CREDIT_RECORDS_MAX } from './constants.js';

/**
 * A subscription's credit (broker.proto `Credit`): grants add up; a batch may be sent while both
 * the byte and the record credit are positive; sending subtracts its size and record count and may
 * overdraw, after which nothing is sent until grants make both positive again.
 */
export class CreditWindow {
  private bytes = 0;
  private records = 0;

  get bytesAvailable(): number {
    return this.bytes;
  }

  get recordsAvailable(): number {
    return this.records;
  }

  /** Adds credit (clamped so counters stay exact). */
  grant(bytes: number, records: number): void {
    this.bytes = Math.min(this.bytes + Math.max(0, bytes), SUBSCRIBE_CREDIT_BYTES_MAX);
    this.records = Math.min(this.records + Math.max(0, records), SUBSCRIBE_CREDIT_RECORDS_MAX);
  }

  /** True while a batch may be sent. */
  canSend(): boolean {
    return this.bytes > 0 && this.records > 0;
  }

  /** Charges a sent batch. */
  consume(bytes: number, records: number): void {
    this.bytes -= bytes;
    this.records -= records;
  }
}
