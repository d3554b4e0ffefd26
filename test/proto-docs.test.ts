// Issue 11, item 7: the .proto files alone must be enough to write a client. Each fact a client
// author needed the server code for is stated in the .proto, with the figures the code enforces.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLUSTER_ID_HEADER, ERROR_MESSAGE_CHARS_MAX, PRODUCE_BATCH_BYTES_MAX, PRODUCE_RECORDS_MAX, PROTO_DIR, PROTO_FILES, RECORD_HEADERS_MAX, REQUEST_FIELDS_MAX } from '@runnel/protocol';
import { PRODUCE_STREAM_IN_FLIGHT_MAX } from '../packages/broker/src/index.js';

const read = (file: string): string => readFileSync(`${PROTO_DIR}/${file}`, 'utf8');
const broker = read('runnel/v1/broker.proto');
const coordinator = read('runnel/v1/coordinator.proto');
const thousands = (n: number): string => n.toLocaleString('en-US');

describe('the .proto files document what a client needs', () => {
  it('name the request headers a client may send', () => {
    for (const text of [broker, coordinator]) expect(text).toContain(CLUSTER_ID_HEADER);
    expect(broker).toContain('runnel-forward: false');
    expect(coordinator).toContain('runnel-broker-incarnation');
  });

  it('state every produce limit with the figure the broker enforces', () => {
    expect(broker).toContain(`at most ${thousands(PRODUCE_RECORDS_MAX)}`);
    expect(broker).toContain(`${RECORD_HEADERS_MAX} headers per record`);
    expect(broker).toContain(`${thousands(REQUEST_FIELDS_MAX)} encoded fields`);
    expect(broker).toContain(`${PRODUCE_BATCH_BYTES_MAX / (1024 * 1024)} MiB of encoded records`);
    expect(broker).toContain(`${thousands(ERROR_MESSAGE_CHARS_MAX)} characters`);
    expect(broker).toContain(`(${PRODUCE_STREAM_IN_FLIGHT_MAX} today`);
  });

  it('answer the questions a client author had to read the server for', () => {
    expect(broker).toMatch(/forwarded to its leader like any other request/); // the partition field
    expect(broker).toMatch(/`bytes` counts the\s+\/\/ encoded size/); // what Credit.bytes counts
    expect(broker).toMatch(/`records` alone delivers/); // a records-only grant
    expect(broker).toMatch(/reusing an outstanding id is answered at once/); // duplicate correlation ids
    expect(broker).toMatch(/empty means every partition of the topic/); // ListOffsets without partitions
    expect(broker).toMatch(/OFFSET_NOT_AVAILABLE/);
    expect(broker).toMatch(/LEADERSHIP_LOST/);
    expect(broker).toMatch(/9223372036854775807/); // the timestamp range
    expect(broker).toMatch(/A value not listed here is refused/); // unknown enum values
  });

  it('point to docs/, never to the README, for content that lives in docs/', () => {
    for (const file of PROTO_FILES) {
      const text = read(file);
      expect(text, file).not.toMatch(/README/);
      for (const [, doc] of text.matchAll(/(docs\/[a-z-]+\.md)/g)) expect(() => readFileSync(new URL(`../${doc!}`, import.meta.url)), doc).not.toThrow();
    }
  });
});
