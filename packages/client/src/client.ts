import type { ClusterMetadata__Output } from '@runnel/protocol';
import { AdminClient, type Admin } from './admin.js';
import { ClientClosedError } from './client-errors.js';
import { ConnectionPool } from './connection-pool.js';
import { hostname } from 'node:os';
import { Consumer } from './consumer.js';
import { GroupConsumer } from './group-consumer.js';
import { MetadataCache } from './metadata-cache.js';
import {
  resolveClientOptions, resolveConsumerOptions, resolveGroupConsumerOptions, resolveProducerOptions,
  type ClientOptions, type ConsumerOptions, type GroupConsumerOptions, type ProducerOptions, type ResolvedClientOptions,
} from './options.js';
import { Producer } from './producer.js';

/**
 * Entry point of the TypeScript client. Holds the channels (one per address), the metadata
 * cache and every producer and consumer it made; close() closes them all.
 *
 *   const client = new RunnelClient({ bootstrap: '127.0.0.1:7400' });
 *   await client.admin.createTopic({ name: 'events', partitions: 3 });
 *   const producer = client.producer();
 *   await producer.send('events', { key: 'k', value: 'v' });
 *   for await (const r of client.consumer({ topic: 'events', from: 'earliest' })) { … }
 *   await client.close();
 */
export class RunnelClient {
  readonly admin: Admin;
  private readonly options: ResolvedClientOptions;
  private readonly pool: ConnectionPool;
  private readonly abort = new AbortController();
  private readonly cache: MetadataCache;
  private readonly producers = new Set<Producer>();
  private readonly consumers = new Set<Consumer | GroupConsumer>();
  private closePromise: Promise<void> | undefined;

  constructor(options: ClientOptions = {}) {
    this.options = resolveClientOptions(options);
    this.pool = new ConnectionPool(this.options.addressMap);
    this.cache = new MetadataCache(this.pool, this.options, this.abort.signal);
    this.admin = new AdminClient(this.pool, this.cache, this.options, this.abort.signal);
  }

  producer(options: ProducerOptions = {}): Producer {
    this.assertOpen();
    const p = new Producer(resolveProducerOptions(options, this.options), {
      pool: this.pool,
      metadata: this.cache,
      retry: this.options.retry,
      signal: this.abort.signal,
      logger: this.options.logger,
      onClose: (x) => this.producers.delete(x),
    });
    this.producers.add(p);
    return p;
  }

  /**
   * A consumer of fixed partitions (`topic`, `partitions`, `from`), or, with `group`, a member of
   * a consumer group that gets its partitions from the group's coordinator (GroupConsumer).
   */
  consumer(options: GroupConsumerOptions): GroupConsumer;
  consumer(options: ConsumerOptions): Consumer;
  consumer(options: ConsumerOptions | GroupConsumerOptions): Consumer | GroupConsumer {
    this.assertOpen();
    if ('group' in options && options.group !== undefined) {
      const g = new GroupConsumer(resolveGroupConsumerOptions(options, `${hostname()}/${process.pid}`), {
        pool: this.pool,
        metadata: this.cache,
        retry: this.options.retry,
        requestTimeoutMs: this.options.requestTimeoutMs,
        signal: this.abort.signal,
        logger: this.options.logger,
        onClose: (x) => this.consumers.delete(x),
      });
      this.consumers.add(g);
      return g;
    }
    const c = new Consumer(resolveConsumerOptions(options as ConsumerOptions), {
      pool: this.pool,
      metadata: this.cache,
      signal: this.abort.signal,
      logger: this.options.logger,
      onClose: (x) => this.consumers.delete(x),
    });
    this.consumers.add(c);
    return c;
  }

  /** Cached cluster metadata; the first call fetches it, a WatchMetadata stream keeps it fresh. */
  metadata(): Promise<ClusterMetadata__Output> {
    if (this.closePromise !== undefined) return Promise.reject(new ClientClosedError('client'));
    return this.cache.get();
  }

  /** Fetches metadata now (with retries) and caches it. */
  refreshMetadata(): Promise<ClusterMetadata__Output> {
    if (this.closePromise !== undefined) return Promise.reject(new ClientClosedError('client'));
    return this.cache.refreshWithRetry();
  }

  /**
   * Closes consumers, then producers (each flushes what it accepted, within its retry bounds),
   * then the metadata watch and every channel. Pending calls reject with ClientClosedError.
   */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      const log = this.options.logger.child({ component: 'client' });
      await Promise.all([...this.consumers].map((c) => c.close()));
      const results = await Promise.allSettled([...this.producers].map((p) => p.close()));
      for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason as unknown }, 'producer close failed');
      this.abort.abort();
      this.pool.close();
      await this.cache.closed();
    })();
    return this.closePromise;
  }

  private assertOpen(): void {
    if (this.closePromise !== undefined) throw new ClientClosedError('client');
  }
}
