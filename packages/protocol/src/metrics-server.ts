import http from 'node:http';
import type { Logger } from 'pino';

/** Scrapes rendered at once; more get 503 (a scrape is cheap, but bounded like everything else). */
export const METRICS_SCRAPES_IN_FLIGHT_MAX = 4;
/** Open connections to the metrics port at once. */
export const METRICS_CONNECTIONS_MAX = 64;
/** A request (headers and render) must finish within this. */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;

export interface MetricsServerOptions {
  readonly host: string;
  /** 1..65535 (a port of 0 means "no endpoint" and is not passed here). */
  readonly port: number;
  /** Renders the exposition text (Prometheus text format). */
  readonly render: () => Promise<string>;
  /** Content-Type of what `render` returns. */
  readonly contentType: string;
  /** `/healthz` answers 200 while this is true, else 503. */
  readonly serving: () => boolean;
  readonly logger: Logger;
}

export interface MetricsServer {
  /** Port actually bound. */
  readonly port: number;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * The metrics HTTP endpoint: `GET /metrics` (Prometheus text format), `GET /healthz` (200 `ok`
 * while the process serves, 503 `not serving` while it starts or stops); 404 for any other path,
 * 405 for another method. HEAD works like GET without a body. Bounded: METRICS_SCRAPES_IN_FLIGHT_MAX
 * scrapes render at once (503 beyond), METRICS_CONNECTIONS_MAX connections, whole requests within
 * METRICS_REQUEST_TIMEOUT_MS.
 */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const log = o.logger.child({ component: 'metrics' });
  let scrapes = 0;
  const reply = (res: http.ServerResponse, head: boolean, status: number, body: string, type = TEXT): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(head ? undefined : body);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const head = req.method === 'HEAD';
    if (path !== '/metrics' && path !== '/healthz') {
      reply(res, head, 404, 'not found: try /metrics or /healthz\n');
      return;
    }
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      reply(res, false, 405, 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      if (o.serving()) reply(res, head, 200, 'ok\n');
      else reply(res, head, 503, 'not serving\n');
      return;
    }
    if (scrapes >= METRICS_SCRAPES_IN_FLIGHT_MAX) {
      reply(res, head, 503, `too many concurrent scrapes (${scrapes})\n`);
      return;
    }
    scrapes++;
    o.render().then(
      (body) => {
        scrapes--;
        reply(res, head, 200, body, o.contentType);
      },
      (err: unknown) => {
        scrapes--;
        log.error({ err }, 'rendering metrics failed');
        reply(res, head, 500, 'rendering metrics failed\n');
      },
    );
  });
  server.maxConnections = METRICS_CONNECTIONS_MAX;
  server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
  server.headersTimeout = METRICS_REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.host, port: o.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics endpoint error'));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  log.info({ host: o.host, port }, 'metrics endpoint listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
