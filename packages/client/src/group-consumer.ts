import type { Logger } from 'pino';
import { RunnelError, fromServiceError } from '@runnel/protocol';
import type { ConnectionPool } from './connection-pool.js';
import { GroupCoordinatorClient } from './group-coordinator-client.js';
import { GroupMembership, parseTp, type TpKey } from './group-membership.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ResolvedGroupConsumerOptions, ResolvedRetryOptions, StartFrom } from './options.js';
import { PartitionSubscription } from './partition-subscription.js';
import { RecordQueue, type QueueItem } from './record-queue.js';
import type { ConsumedRecord } from './record-types.js';

export interface GroupConsumerDeps {
  readonly pool: ConnectionPool;
  readonly metadata: MetadataCache;
  readonly retry: ResolvedRetryOptions;
  readonly requestTimeoutMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly onClose: (c: GroupConsumer) => void;
}

/** A partition this member owns. */
interface Owned {
  readonly key: TpKey;
  readonly topic: string;
  readonly partition: number;
  readonly abort: AbortController;
  sub: PartitionSubscription | undefined;
  task: Promise<void> | undefined;
  /** Next offset after the last record whose loop body finished. */
  processed: number | undefined;
  /** Next offset after the last record the iterator returned. */
  returned: number | undefined;
  /** Last offset committed (or read as committed). */
  committed: number | undefined;
  /** Stopped: no more records are handed out (revoked, lost, or closing). */
  stopped: boolean;
}


/**
 * A consumer group member, as an async iterator:
 *
 *   for await (const r of client.consumer({ group: 'billing', topics: ['orders'] })) { … }
 *
 * Partitions come from the group's coordinator (GroupMembership) and start at the group's
 * committed offsets (else `from`). On a revocation the member stops the partition, waits for the
 * loop body of a record of it still running, commits what was processed (autoCommit), and only
 * then confirms — the coordinator hands the partition on after that. Other partitions keep
 * flowing throughout. At-least-once: a record counts as processed once the loop asks for the next
 * one; a crash redelivers from the last commit. An offset out of range (retention deleted it while
 * the member was slow) applies the reset policy `from`; a jump forward is logged and reported to
 * `onRecordsLost` with the number of offsets skipped, never silent.
 */
export class GroupConsumer implements AsyncIterable<ConsumedRecord> {
  private readonly o: ResolvedGroupConsumerOptions;
  private readonly deps: GroupConsumerDeps;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly records = new RecordQueue();
  private readonly owned = new Map<TpKey, Owned>();
  private readonly bySubscription = new Map<PartitionSubscription, Owned>();
  private readonly coordinator: GroupCoordinatorClient;
  private readonly membership: GroupMembership;
  private readonly membershipTask: Promise<void>;
  private assignmentChain: Promise<void> = Promise.resolve();
  private inHand: { part: Owned; offset: number } | undefined;
  private inHandWaiters: Array<() => void> = [];
  private iterating = false;
  private closePromise: Promise<void> | undefined;
  private committing: Promise<void> | undefined;
  private readonly commitTimer: NodeJS.Timeout | undefined;
  private readonly onParentAbort = (): void => {
    void this.close();
  };

  constructor(options: ResolvedGroupConsumerOptions, deps: GroupConsumerDeps) {
    this.o = options;
    this.deps = deps;
    this.log = deps.logger.child({ component: 'group-consumer', group: options.group });
    if (deps.signal.aborted) this.abort.abort();
    else deps.signal.addEventListener('abort', this.onParentAbort, { once: true });
    this.coordinator = new GroupCoordinatorClient(options.group, deps.pool, deps.metadata, deps.retry, deps.requestTimeoutMs, this.abort.signal);
    this.membership = new GroupMembership({
      group: options.group, topics: options.topics, sessionTimeoutMs: options.sessionTimeoutMs, clientId: options.clientId,
      pool: deps.pool, coordinator: this.coordinator, signal: this.abort.signal, logger: deps.logger,
      owned: () => [...this.owned.values()].filter((p) => !p.stopped).map((p) => p.key),
      handlers: {
        onAssignment: (generation, assigned, revoke) => {
          this.assignmentChain = this.assignmentChain
            .then(() => this.applyAssignment(generation, assigned, revoke))
            .catch((err: unknown) => this.fail(fromServiceError(err)));
        },
        onLost: () => this.dropAll(),
        onFatal: (err) => this.fail(err),
      },
    });
    this.membershipTask = this.membership.run().catch((err: unknown) => this.fail(fromServiceError(err)));
    if (options.autoCommit) {
      this.commitTimer = setInterval(() => {
        this.commitProcessed().catch((err: unknown) => this.log.debug({ err: fromServiceError(err).message }, 'auto-commit failed; retried at the next interval'));
      }, options.autoCommitIntervalMs);
      this.commitTimer.unref();
    }
  }

  /** This member's id in the group ('' until joined). */
  get memberId(): string {
    return this.membership.id;
  }

  /** Partitions this member consumes now. */
  assignment(): Array<{ topic: string; partition: number }> {
    return [...this.owned.values()].filter((p) => !p.stopped).map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /**
   * Commits, for every partition owned, the position after the last record the iterator returned
   * (call it after processing). Resolves once quorum-committed. Rejects with PARTITION_NOT_ASSIGNED
   * or UNKNOWN_MEMBER when the partition moved meanwhile.
   */
  async commit(): Promise<void> {
    await this.commitWhere((p) => p.returned);
  }

  private async commitProcessed(parts?: readonly Owned[]): Promise<void> {
    await this.commitWhere((p) => p.processed, parts);
  }

  private async commitWhere(position: (p: Owned) => number | undefined, parts: readonly Owned[] = [...this.owned.values()]): Promise<void> {
    while (this.committing !== undefined) await this.committing.catch(() => undefined);
    const offsets = parts
      .map((p) => ({ p, offset: position(p) }))
      .filter((x): x is { p: Owned; offset: number } => x.offset !== undefined && x.offset > (x.p.committed ?? -1));
    if (offsets.length === 0 || this.membership.id === '') return;
    const run = this.coordinator.commit(this.membership.id, offsets.map(({ p, offset }) => ({ topic: p.topic, partition: p.partition, offset, metadata: '' })));
    this.committing = run;
    try {
      await run;
      for (const { p, offset } of offsets) p.committed = Math.max(p.committed ?? 0, offset);
    } finally {
      this.committing = undefined;
    }
  }

  private async applyAssignment(generation: number, assigned: TpKey[], revoke: TpKey[]): Promise<void> {
    if (this.abort.signal.aborted) return;
    const assignedSet = new Set(assigned);
    const revokeSet = new Set(revoke);
    // Not ours any more without a revocation (topic deleted, membership reset): stop at once.
    for (const p of [...this.owned.values()]) if (!assignedSet.has(p.key)) this.stop(p, true);
    const revoking = [...revokeSet].map((k) => this.owned.get(k)).filter((p): p is Owned => p !== undefined);
    if (revokeSet.size > 0) {
      for (const p of revoking) this.stop(p, false);
      await this.inHandDone(revokeSet);
      if (this.o.autoCommit) {
        await this.commitProcessed(revoking).catch((err: unknown) => this.log.warn({ err: fromServiceError(err).message }, 'commit on revocation failed'));
      }
      for (const p of revoking) this.forget(p);
      this.membership.revoked([...revokeSet]);
      this.log.debug({ generation, revoked: [...revokeSet] }, 'partitions revoked');
    }
    const added = assigned.filter((k) => !revokeSet.has(k) && !this.owned.has(k));
    if (added.length === 0) return;
    for (const key of added) {
      const { topic, partition } = parseTp(key);
      this.owned.set(key, { key, topic, partition, abort: new AbortController(), sub: undefined, task: undefined, processed: undefined, returned: undefined, committed: undefined, stopped: false });
    }
    const committed = await this.coordinator.fetchOffsets(added.map(parseTp));
    const at = new Map(committed.map((c) => [`${c.topic}/${c.partition}`, c.offset]));
    for (const key of added) {
      const p = this.owned.get(key);
      if (p === undefined || p.stopped || p.sub !== undefined) continue;
      const offset = at.get(key) ?? -1;
      if (offset >= 0) p.committed = offset;
      this.start(p, offset >= 0 ? { offset } : this.o.from, undefined);
    }
    this.log.debug({ generation, added }, 'partitions assigned');
  }

  /**
   * Subscribes to an owned partition from `from`. `resetFrom`: this start applies the reset policy
   * after the broker refused that offset as out of range; a jump forward is reported once the new
   * start offset is known.
   */
  private start(p: Owned, from: StartFrom, resetFrom: number | undefined): void {
    const sub = new PartitionSubscription(p.topic, p.partition, from, this.o.creditBytes, this.o.creditRecords, {
      pool: this.deps.pool,
      metadata: this.deps.metadata,
      signal: p.abort.signal,
      logger: this.deps.logger,
      deliver: (entry) => this.push(entry),
      ...(resetFrom === undefined ? {} : { started: (at: number) => this.reportReset(p, resetFrom, at) }),
      fail: (err) => {
        // The offset is out of range: a committed offset or the member's position that retention
        // deleted meanwhile (the member was slower than retention), or one beyond the log end.
        // Apply the reset policy, as Kafka does. The old subscription stays mapped, so what it
        // delivered before the error is still handed out, ahead of the new one's records.
        const requested = sub.requestedOffset ?? (typeof from === 'object' && 'offset' in from ? from.offset : undefined);
        if (err.code === 'OFFSET_OUT_OF_RANGE' && requested !== undefined && !p.stopped && this.owned.get(p.key) === p) {
          this.log.warn({ topic: p.topic, partition: p.partition, offset: requested, reset: this.o.from, err: err.message }, 'offset out of range; using the reset policy');
          this.start(p, this.o.from, requested);
          return;
        }
        this.fail(err);
      },
    });
    p.sub = sub;
    this.bySubscription.set(sub, p);
    p.task = sub.run().catch((err: unknown) => this.fail(fromServiceError(err)));
  }

  /** Stops handing out a partition's records; `forget` also drops it from the owned set. */
  private stop(p: Owned, forget: boolean): void {
    p.stopped = true;
    if (!p.abort.signal.aborted) p.abort.abort();
    p.sub?.cancel();
    if (forget) this.forget(p);
  }

  private forget(p: Owned): void {
    if (this.owned.get(p.key) === p) this.owned.delete(p.key);
    // Also the subscriptions a reset replaced (kept until now for what they had delivered).
    for (const [sub, part] of this.bySubscription) if (part === p) this.bySubscription.delete(sub);
  }

  /** A reset resumed `p` at `resumed` after `requested` was refused: report the records jumped over. */
  private reportReset(p: Owned, requested: number, resumed: number): void {
    if (resumed <= requested) return; // reset backwards (offset beyond the log end): nothing lost
    const lost = { topic: p.topic, partition: p.partition, requestedOffset: requested, resumedOffset: resumed, records: resumed - requested, reset: this.o.from };
    this.log.warn(lost, 'records lost: the reset policy skipped offsets retention had deleted');
    try {
      this.o.onRecordsLost?.(lost);
    } catch (err) {
      this.log.warn({ err: fromServiceError(err).message }, 'onRecordsLost threw');
    }
  }

  /** Membership lost: stop everything now, commit nothing (another member may own them already). */
  private dropAll(): void {
    for (const p of [...this.owned.values()]) this.stop(p, true);
  }

  /** Resolves once no record of these partitions is in the loop body. */
  private inHandDone(keys: ReadonlySet<TpKey>): Promise<void> {
    if (this.inHand === undefined || !keys.has(this.inHand.part.key) || this.closePromise !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.inHandWaiters.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    if (this.iterating) throw new Error('a consumer can be iterated only once; create another consumer');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private push(item: QueueItem): void {
    if (this.abort.signal.aborted && !('error' in item)) return;
    this.records.push(item);
  }

  private fail(err: RunnelError): void {
    if (this.abort.signal.aborted) return;
    this.log.debug({ code: err.code, err: err.message }, 'group consumer failed');
    this.push({ error: err });
  }

  private finishInHand(): void {
    const h = this.inHand;
    this.inHand = undefined;
    if (h !== undefined && this.owned.get(h.part.key) === h.part) h.part.processed = h.offset + 1;
    const waiters = this.inHandWaiters;
    this.inHandWaiters = [];
    for (const w of waiters) w();
  }

  private async next(): Promise<IteratorResult<ConsumedRecord>> {
    this.finishInHand();
    const live = (sub: PartitionSubscription): Owned | undefined => {
      const part = this.bySubscription.get(sub);
      return part === undefined || part.stopped ? undefined : part;
    };
    const taken = await this.records.take({ live, closed: () => this.closePromise !== undefined, ended: () => this.abort.signal.aborted });
    if (taken === undefined) return { done: true, value: undefined };
    if ('error' in taken) {
      await this.close();
      throw taken.error;
    }
    const part = live(taken.subscription);
    if (part !== undefined) {
      part.returned = taken.record.offset + 1;
      this.inHand = { part, offset: taken.record.offset };
    }
    return { done: false, value: taken.record };
  }

  /**
   * Commits what was processed (autoCommit), leaves the group (its partitions move at once), and
   * stops. A record still in the loop body when close() is called is not counted as processed.
   */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.deps.signal.removeEventListener('abort', this.onParentAbort);
      if (this.commitTimer !== undefined) clearInterval(this.commitTimer);
      this.inHand = undefined;
      const waiters = this.inHandWaiters;
      this.inHandWaiters = [];
      for (const w of waiters) w();
      for (const p of this.owned.values()) {
        p.stopped = true;
        p.sub?.cancel();
      }
      this.records.interrupt();
      if (this.o.autoCommit && !this.abort.signal.aborted) {
        await this.commitProcessed().catch((err: unknown) => this.log.warn({ err: fromServiceError(err).message }, 'commit on close failed'));
      }
      this.membership.leave();
      if (!this.abort.signal.aborted) this.abort.abort();
      for (const p of this.owned.values()) if (!p.abort.signal.aborted) p.abort.abort();
      await this.membershipTask;
      await Promise.all([...this.owned.values()].map((p) => p.task));
      this.owned.clear();
      this.bySubscription.clear();
      this.records.clear();
      this.deps.onClose(this);
    })();
    return this.closePromise;
  }
}
