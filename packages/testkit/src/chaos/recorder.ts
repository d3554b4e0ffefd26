import type { HistoryEvent } from '../history/history-types.js';

/**
 * The history of one chaos run, in the order events happened in this process. Bounded by
 * `maxEvents`: past it, new operations are refused (the workload stops issuing them) rather than
 * memory growing without limit.
 */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private nextProcess = 0;

  constructor(private readonly maxEvents = 2_000_000) {}

  /** A fresh process id (a worker after an `info` carries on as a new process). */
  newProcess(): number {
    return this.nextProcess++;
  }

  get full(): boolean {
    return this.events.length >= this.maxEvents;
  }

  add(event: HistoryEvent): void {
    this.events.push(event);
  }

  /** Fault injected or healed, for the report. */
  nemesis(description: string): void {
    this.events.push({ type: 'info', f: 'nemesis', process: -1, time: Date.now(), description });
  }
}
