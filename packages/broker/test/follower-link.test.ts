// FollowerLink against an address nobody serves: it keeps reconnecting while the leader is wanted,
// and closes itself at the next failure once it is not (dead or moved in the metadata), so a broker
// never keeps dialling an address another process may have taken since.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { FollowerLink } from '../src/follower-link.js';
import { waitFor } from './helpers.js';

/** A loopback port that was free a moment ago (listened on, then closed). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('FollowerLink', () => {
  it('reconnects while the leader is wanted, and gives up at the next failure once it is not', async () => {
    const events: Array<{ msg: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => events.push(JSON.parse(line) as { msg: string }) });
    let wanted = true;
    const gaveUp: FollowerLink[] = [];
    const link = new FollowerLink({
      nodeId: 2, leaderId: 1, address: `127.0.0.1:${await unusedPort()}`, logger,
      clusterId: () => 'c', onFrame: () => undefined, stillWanted: () => wanted, onGaveUp: (l) => gaveUp.push(l),
    });
    try {
      const retries = (): number => events.filter((e) => e.msg === 'replication stream to leader ended; reconnecting').length;
      await waitFor(() => retries() >= 2, 'two reconnects while wanted', 10_000);
      expect(gaveUp).toEqual([]);
      wanted = false;
      await waitFor(() => gaveUp.length === 1, 'the link gives up', 10_000);
      expect(gaveUp[0]).toBe(link);
      expect(events.some((e) => e.msg.startsWith('replication stream to leader closed'))).toBe(true);
    } finally {
      link.close();
    }
  });
});
