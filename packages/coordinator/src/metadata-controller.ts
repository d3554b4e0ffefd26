import { RunnelError } from '@runnel/protocol';
import type { Logger } from 'pino';
import { PENDING_CHANGES_MAX } from './constants.js';
import { apply, newChangeDraft } from './metadata-commands.js';
import type { MetadataCommand } from './metadata-commands.js';
import type { MetaKv } from './meta-kv.js';
import type { MetadataState } from './metadata-state.js';
import { persistChange } from './metadata-store.js';

/** What a change function sees: the state so far in this change, and a way to apply commands to it. */
export interface MetadataTransaction {
  readonly state: MetadataState;
  apply(command: MetadataCommand): MetadataState;
  applyAll(commands: readonly MetadataCommand[]): MetadataState;
}

/**
 * The one owner of the metadata state. Changes run one at a time, in call order: the change
 * function computes commands from the latest state (so validation and the change see the same
 * state), the result is written to the store synchronously, and only then is the state swapped in,
 * the listener (watchers) told and the caller answered — "persisted before anyone is told".
 * A failed write leaves the state as it was.
 */
export class MetadataController {
  private current: MetadataState;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly kv: MetaKv,
    initial: MetadataState,
    private readonly log: Logger,
    private readonly onChange: (state: MetadataState) => void,
  ) {
    this.current = initial;
  }

  /** The latest persisted state. */
  get state(): MetadataState {
    return this.current;
  }

  /**
   * Runs `change` after every earlier change has finished, persists what it applied, then resolves
   * with its result. A RunnelError thrown by `change` rejects the call and changes nothing.
   */
  transact<T>(change: (tx: MetadataTransaction) => T): Promise<T> {
    if (this.pending >= PENDING_CHANGES_MAX) {
      return Promise.reject(new RunnelError('TOO_MANY_REQUESTS', `more than ${PENDING_CHANGES_MAX} metadata changes are waiting; retry later`));
    }
    this.pending++;
    const run = this.tail.then(() => this.run(change));
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.pending--;
    });
  }

  /** Resolves once every queued change has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }

  private async run<T>(change: (tx: MetadataTransaction) => T): Promise<T> {
    const start = this.current;
    let state = start;
    const applied: MetadataCommand[] = [];
    // Intermediate states are seen only by `change`: one draft lets its commands share copies.
    const draft = newChangeDraft();
    const tx: MetadataTransaction = {
      get state() {
        return state;
      },
      apply(command) {
        const next = apply(state, command, draft);
        if (next !== state) applied.push(command);
        state = next;
        return state;
      },
      applyAll(commands) {
        for (const c of commands) tx.apply(c);
        return state;
      },
    };
    const result = change(tx);
    if (state === start) return result;
    try {
      await persistChange(this.kv, start, state);
    } catch (err) {
      this.log.error({ err }, 'failed to persist metadata change');
      throw new RunnelError('INTERNAL', 'the coordinator failed to persist a metadata change', { cause: err });
    }
    this.current = state;
    for (const c of applied) {
      if (c.type === 'ChangeLeader') {
        this.log.info({ topic: c.topic, partition: c.partition, leader: c.leader, epoch: c.epoch }, 'leader changed');
      }
    }
    this.log.debug({ version: state.version, commands: applied.map((c) => c.type) }, 'metadata changed');
    this.onChange(state);
    return result;
  }
}
