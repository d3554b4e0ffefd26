import { describe, expect, it } from 'vitest';
import { unreadRecords } from '../src/unread-records.js';

describe('unreadRecords (group lag)', () => {
  it('is 0 when caught up, or when only markers lie between the commit and the high watermark', () => {
    expect(unreadRecords([], 7, 7)).toBe(0);
    // committed 4, markers at 4 and 5: the Fetch returned nothing.
    expect(unreadRecords([], 4, 6)).toBe(0);
  });

  it('counts the data records of the batches below the high watermark, not the offsets of markers', () => {
    // marker at 4, data 5, marker 6, data 7-8; HW 9.
    expect(unreadRecords([{ baseOffset: 5, recordCount: 1 }, { baseOffset: 7, recordCount: 2 }], 4, 9)).toBe(3);
    // A batch straddling the commit counts only from the commit; one past the HW is cut at it.
    expect(unreadRecords([{ baseOffset: 0, recordCount: 10 }, { baseOffset: 10, recordCount: 10 }], 5, 15)).toBe(10);
  });

  it('counts what it could not read as records (the read stopped at its byte budget)', () => {
    expect(unreadRecords([{ baseOffset: 1, recordCount: 3 }], 0, 100)).toBe(3 + 96);
  });
});
