/** Credit to grant: bytes and records. */
export interface CreditGrant {
  readonly bytes: number;
  readonly records: number;
}

/**
 * Flow-control accounting of one partition subscription. Invariant, per dimension (bytes,
 * records): credit outstanding at the broker + pushed-but-unconsumed (buffered) + consumed-but-
 * not-yet-re-granted (pending) = window. So the client never has more than `window` granted or
 * buffered, except that the broker may overdraw by one batch (batches are never split). Consumed
 * credit is given back once at least half a window of it has gathered, not per record.
 * After an overdraw carried across a resubscribe, pending starts negative so the excess is paid
 * back before anything new is granted. A stream's first grant always gives both kinds (> 0): the
 * broker does not count a kind that was never granted, so a first grant of one kind alone would
 * leave the other unlimited.
 */
export class CreditWindow {
  private bufferedBytes = 0;
  private bufferedRecords = 0;
  private pendingBytes = 0;
  private pendingRecords = 0;
  /** Whether the current stream has been granted both kinds yet. */
  private streamGranted = false;

  constructor(readonly windowBytes: number, readonly windowRecords: number) {}

  /**
   * Initial credit for a new stream (the previous stream's outstanding credit is gone), or
   * undefined while one kind is used up by what is buffered: then the first grant waits until
   * consuming makes both kinds positive (see consumed()).
   */
  startStream(): CreditGrant | undefined {
    this.pendingBytes = this.windowBytes - this.bufferedBytes;
    this.pendingRecords = this.windowRecords - this.bufferedRecords;
    this.streamGranted = false;
    return this.firstGrant();
  }

  private firstGrant(): CreditGrant | undefined {
    if (this.pendingBytes <= 0 || this.pendingRecords <= 0) return undefined;
    const grant = { bytes: this.pendingBytes, records: this.pendingRecords };
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    this.streamGranted = true;
    return grant;
  }

  /** A batch arrived from the broker. */
  received(bytes: number, records: number): void {
    this.bufferedBytes += bytes;
    this.bufferedRecords += records;
  }

  /** A batch was handed to the user (or skipped). Returns credit to grant now, if any. */
  consumed(bytes: number, records: number): CreditGrant | undefined {
    this.bufferedBytes -= bytes;
    this.bufferedRecords -= records;
    this.pendingBytes += bytes;
    this.pendingRecords += records;
    if (!this.streamGranted) return this.firstGrant();
    if (this.pendingBytes * 2 < this.windowBytes && this.pendingRecords * 2 < this.windowRecords) return undefined;
    const grant = { bytes: Math.max(0, this.pendingBytes), records: Math.max(0, this.pendingRecords) };
    if (grant.bytes === 0 && grant.records === 0) return undefined;
    this.pendingBytes -= grant.bytes;
    this.pendingRecords -= grant.records;
    return grant;
  }

  get buffered(): CreditGrant {
    return { bytes: this.bufferedBytes, records: this.bufferedRecords };
  }
}
