import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../src/net/fault-proxy.js';
import { seededRandom } from '../src/net/seeded-random.js';
import { waitFor } from '../src/wait-for.js';

const DEADLINE_MS = 10_000;

/** Everything a test started, closed in reverse order after it. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server on 127.0.0.1 that keeps its sockets, what each received, and closes them all after the test. */
interface TestServer {
  readonly port: number;
  readonly sockets: Socket[];
  /** Bytes received per socket (in accept order), unless `countOnly`. */
  readonly received: Buffer[][];
  bytesReceived: number;
}

async function startServer(options: { echo?: boolean; countOnly?: boolean } = {}): Promise<TestServer> {
  const state: TestServer = { port: 0, sockets: [], received: [], bytesReceived: 0 };
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    state.sockets.push(socket);
    const chunks: Buffer[] = [];
    state.received.push(chunks);
    socket.on('data', (chunk: Buffer) => {
      state.bytesReceived += chunk.length;
      if (options.countOnly !== true) chunks.push(chunk);
    });
    if (options.echo === true) socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of state.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return Object.assign(state, { port: (server.address() as AddressInfo).port });
}

async function startProxy(targetPort: number, options: { bufferBytesMax?: number; seed?: number } = {}): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: targetPort }, ...options });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client socket that collects what it receives and can wait for it, event-driven, with a deadline. */
class TestClient {
  readonly socket: Socket;
  private readonly chunks: Buffer[] = [];
  bytes = 0;
  closed = false;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
    });
    this.socket.on('close', () => { this.closed = true; });
    cleanups.push(() => { this.socket.destroy(); });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves once `condition` holds, checked on every 'data' and 'close'; rejects after `timeoutMs`. */
  async until(condition: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.socket.off('data', check);
        this.socket.off('close', check);
      };
      this.socket.on('data', check);
      this.socket.on('close', check);
    });
  }

  untilBytes(n: number, timeoutMs = DEADLINE_MS): Promise<void> {
    return this.until(() => this.bytes >= n, `${n} bytes`, timeoutMs);
  }

  untilClosed(timeoutMs = DEADLINE_MS): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }
}

function patternBytes(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

describe('FaultProxy (real sockets on 127.0.0.1)', () => {
  it('healthy: passes 4 MiB each way intact, and counts it', async () => {
    const server = await startServer({ echo: true });
    const proxy = await startProxy(server.port);
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
    const payload = patternBytes(4 * 1024 * 1024, 7);
    const client = new TestClient(proxy.port);
    client.socket.write(payload);
    await client.untilBytes(payload.length);
    expect(client.received.equals(payload)).toBe(true);
    expect(proxy.stats).toMatchObject({ connections: 1, open: 1, bytesForward: payload.length, bytesBackward: payload.length, droppedForward: 0, droppedBackward: 0 });
  });

  it('refuses non-loopback hosts and bad faults with a clear error', async () => {
    await expect(FaultProxy.start({ target: { host: '10.1.2.3', port: 80 } })).rejects.toThrow(/loopback-only: target host "10.1.2.3"/);
    await expect(FaultProxy.start({ target: { host: '127.0.0.1', port: 80 }, listenHost: '0.0.0.0' })).rejects.toThrow(/loopback-only: listen host "0.0.0.0"/);
    const proxy = await startProxy(await freePort());
    expect(() => proxy.setFault({ kind: 'delay', ms: -1 })).toThrow(RangeError);
    expect(() => proxy.setFault({ kind: 'slow', bytesPerSecond: 0 })).toThrow(RangeError);
    expect(proxy.fault).toEqual({ kind: 'none' });
  });

  it('cut: resets existing connections and every new one; heal lets new connections through', async () => {
    const server = await startServer({ echo: true });
    const proxy = await startProxy(server.port);
    const before = new TestClient(proxy.port);
    before.socket.write('ping');
    await before.untilBytes(4);

    proxy.setFault({ kind: 'cut' });
    expect(proxy.fault).toEqual({ kind: 'cut' });
    await before.untilClosed();
    await waitFor(() => server.sockets.every((s) => s.closed), { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the target side to close' });

    const during = new TestClient(proxy.port);
    during.socket.write('lost');
    await during.untilClosed();
    expect(during.bytes).toBe(0);
    expect(server.sockets).toHaveLength(1);
    expect(proxy.stats).toMatchObject({ connections: 2, open: 0 });

    proxy.heal();
    const after = new TestClient(proxy.port);
    after.socket.write('pong');
    await after.untilBytes(4);
    expect(after.received.toString()).toBe('pong');
  });

  it('drop forward: the target receives nothing while the client still receives; heal forwards new bytes only', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    proxy.setFault({ kind: 'drop', direction: 'forward' });
    const client = new TestClient(proxy.port);
    client.socket.write('hello');
    await waitFor(() => proxy.stats.droppedForward === 5 && server.sockets.length === 1, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the drop' });
    server.sockets[0]?.write('from-server');
    await client.untilBytes(11);
    expect(client.received.toString()).toBe('from-server');
    expect(server.bytesReceived).toBe(0);
    expect(client.closed).toBe(false);

    proxy.heal();
    client.socket.write('again');
    await waitFor(() => server.bytesReceived >= 5, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'bytes after heal' });
    expect(Buffer.concat(server.received[0] ?? []).toString()).toBe('again');
    expect(proxy.stats).toMatchObject({ bytesForward: 5, droppedForward: 5, bytesBackward: 11, droppedBackward: 0 });
  });

  it('drop backward: the client receives nothing while the target still receives', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    proxy.setFault({ kind: 'drop', direction: 'backward' });
    const client = new TestClient(proxy.port);
    await waitFor(() => server.sockets.length === 1, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the target connection' });
    server.sockets[0]?.write('from-server');
    await waitFor(() => proxy.stats.droppedBackward === 11, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the drop' });
    client.socket.write('hello');
    await waitFor(() => server.bytesReceived >= 5, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'forwarded bytes' });
    expect(Buffer.concat(server.received[0] ?? []).toString()).toBe('hello');
    expect(client.bytes).toBe(0);
    expect(client.closed).toBe(false);
  });

  it('delay: a round trip takes at least twice the delay, and many small writes keep their order despite jitter', async () => {
    const server = await startServer({ echo: true });
    const proxy = await startProxy(server.port, { seed: 42 });
    const client = new TestClient(proxy.port);
    client.socket.write('warm');
    await client.untilBytes(4);

    const delayMs = 100;
    proxy.setFault({ kind: 'delay', ms: delayMs });
    const startedAt = performance.now();
    client.socket.write('x');
    await client.untilBytes(5);
    const roundTripMs = performance.now() - startedAt;
    expect(roundTripMs).toBeGreaterThanOrEqual(2 * delayMs - 2);

    proxy.setFault({ kind: 'delay', ms: 5, jitterMs: 30 });
    const count = 2_000;
    const sent = Buffer.alloc(count * 4);
    for (let i = 0; i < count; i++) {
      sent.writeUInt32BE(i, i * 4);
      client.socket.write(sent.subarray(i * 4, i * 4 + 4));
    }
    await client.untilBytes(5 + sent.length);
    expect(client.received.subarray(5).equals(sent)).toBe(true);
  });

  it('heal during a delay: data already delayed is still delivered, before newer data', async () => {
    const server = await startServer({ echo: true });
    const proxy = await startProxy(server.port);
    const client = new TestClient(proxy.port);
    await waitFor(() => server.sockets.length === 1, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the target connection' });
    proxy.setFault({ kind: 'delay', ms: 200 });
    client.socket.write('first,');
    await waitFor(() => proxy.stats.bufferedBytes === 6, { timeoutMs: DEADLINE_MS, intervalMs: 1, description: 'the delayed write' });
    proxy.heal();
    client.socket.write('second');
    await client.untilBytes(12);
    expect(client.received.toString()).toBe('first,second');
  });

  it('slow: 256 KiB at 256 KiB/s takes about a second', async () => {
    const server = await startServer({ countOnly: true });
    const proxy = await startProxy(server.port);
    const client = new TestClient(proxy.port);
    await waitFor(() => server.sockets.length === 1, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the target connection' });
    const bytes = 256 * 1024;
    proxy.setFault({ kind: 'slow', bytesPerSecond: bytes });
    const startedAt = performance.now();
    client.socket.write(patternBytes(bytes, 3));
    await waitFor(() => server.bytesReceived === bytes, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'every byte' });
    const elapsedMs = performance.now() - startedAt;
    expect(elapsedMs).toBeGreaterThanOrEqual(800);
    expect(elapsedMs).toBeLessThan(5_000);
  });

  it('backpressure: a fast producer behind a delay never makes the proxy hold more than its bound', async () => {
    const server = await startServer({ countOnly: true });
    const bufferBytesMax = 256 * 1024;
    const proxy = await startProxy(server.port, { bufferBytesMax });
    expect(proxy.bufferBytesMax).toBe(bufferBytesMax);
    proxy.setFault({ kind: 'delay', ms: 50 });
    const client = new TestClient(proxy.port);
    const total = 4 * 1024 * 1024;
    client.socket.write(patternBytes(total, 5)); // all at once: the client's socket buffers it, not the proxy
    let sampledMax = 0;
    await waitFor(() => {
      sampledMax = Math.max(sampledMax, proxy.stats.bufferedBytes);
      return server.bytesReceived === total;
    }, { timeoutMs: 30_000, intervalMs: 2, description: 'every byte' });
    const { bufferedBytesPeak } = proxy.stats;
    expect(sampledMax).toBeLessThanOrEqual(bufferBytesMax);
    expect(bufferedBytesPeak).toBeLessThanOrEqual(bufferBytesMax);
    expect(bufferedBytesPeak).toBeGreaterThan(bufferBytesMax / 2); // the bound was reached, so the pause was exercised
  });

  it('target down: the client connection is closed and the proxy carries on', async () => {
    const proxy = await startProxy(await freePort());
    const client = new TestClient(proxy.port);
    client.socket.write('anyone?');
    await client.untilClosed();
    expect(client.bytes).toBe(0);
    await waitFor(() => proxy.stats.open === 0, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'the pair to close' });
    expect(proxy.stats.connections).toBe(1);
  });

  it('close: idempotent, closes every connection, leaves no TCP handles behind', async () => {
    const handlesBefore = tcpHandles();
    const server = await startServer({ echo: true });
    const proxy = await FaultProxy.start({ target: { host: 'localhost', port: server.port } });
    const client = new TestClient(proxy.port);
    client.socket.write('ping');
    await client.untilBytes(4);
    proxy.setFault({ kind: 'delay', ms: 5_000 });
    client.socket.write('pending');
    await waitFor(() => proxy.stats.bufferedBytes > 0, { timeoutMs: DEADLINE_MS, intervalMs: 1, description: 'delayed data' });

    const first = proxy.close();
    expect(proxy.close()).toBe(first);
    await first;
    await proxy.close();
    await client.untilClosed();
    expect(proxy.stats).toMatchObject({ open: 0, bufferedBytes: 0 });
    const refused = new TestClient(proxy.port);
    await refused.untilClosed();

    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await waitFor(() => tcpHandles() <= handlesBefore, { timeoutMs: DEADLINE_MS, intervalMs: 5, description: 'TCP handles to close' });
  });
});

/** A unary echo service with raw Buffer messages: no proto files needed. */
const ECHO_SERVICE: grpc.ServiceDefinition = {
  echo: {
    path: '/runnel.test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

function callEcho(client: grpc.Client, message: string, timeoutMs: number, waitForReady = false): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      '/runnel.test.Echo/Echo',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(message),
      new grpc.Metadata({ waitForReady }),
      { deadline: Date.now() + timeoutMs },
      (err, reply) => (err || reply === undefined ? reject(err ?? new Error('no reply')) : resolve(reply.toString())),
    );
  });
}

function failureCode(call: Promise<string>): Promise<grpc.status | undefined> {
  return call.then(() => undefined, (err: grpc.ServiceError) => err.code);
}

describe('FaultProxy with gRPC (grpc-js over the proxy)', () => {
  it('a unary call works healthy, fails while cut, and works again after heal', async () => {
    const server = new grpc.Server();
    server.addService(ECHO_SERVICE, {
      echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    cleanups.push(() => server.forceShutdown());
    const proxy = await startProxy(port);
    // grpc-js backs off reconnects from 1 s up to 120 s by default; a chaos test wants it short.
    const client = new grpc.Client(proxy.address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
    });
    cleanups.push(() => client.close());
    const channel = client.getChannel();

    expect(await callEcho(client, 'healthy', 2_000)).toBe('healthy');

    proxy.setFault({ kind: 'cut' });
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(await failureCode(callEcho(client, 'cut', 500)));
    // Keep it cut through a reconnect attempt (accepted, then reset), so the channel is in
    // TRANSIENT_FAILURE, where calls without waitForReady fail fast.
    await waitFor(async () => {
      const code = await failureCode(callEcho(client, 'cut', 500));
      return proxy.stats.connections >= 2 && channel.getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE && code;
    }, { timeoutMs: DEADLINE_MS, intervalMs: 20, description: 'a failed reconnect' });
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(await failureCode(callEcho(client, 'cut', 500)));

    proxy.heal();
    expect(await callEcho(client, 'healed', 5_000, true)).toBe('healed');
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.READY);
  });
});
