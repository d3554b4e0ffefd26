// Consumer-group members as real processes (test/support/group-member.mjs), with their event
// streams parsed as they arrive. Every process started here is stopped by the PID it holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./group-member.mjs', import.meta.url));

export interface Processed {
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  /** Wall time the loop body started and finished. */
  readonly s: number;
  readonly f: number;
}

export interface AssignmentEvent {
  readonly member: string;
  readonly parts: string[];
  readonly t: number;
}

/** Everything every member reported, in arrival order. */
export class GroupHistory {
  readonly processed: Processed[] = [];
  readonly assignments: AssignmentEvent[] = [];
  readonly errors: string[] = [];
}

export class MemberProcess {
  readonly child: ChildProcess;
  startedAt = 0;
  /** Latest sampled assignment. */
  parts: string[] = [];
  exited = false;
  private buffer = '';

  constructor(readonly name: string, args: { bootstrap: string; group: string; topic: string; sessionTimeoutMs: number }, history: GroupHistory) {
    this.child = spawn(process.execPath, [SCRIPT, args.bootstrap, args.group, args.topic, String(args.sessionTimeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const e = JSON.parse(line) as { e: string; t: number; parts: string[]; p: number; o: number; v: string; s: number; f: number; code: string; message: string };
        if (e.e === 'start') this.startedAt = e.t;
        else if (e.e === 'a') {
          this.parts = e.parts;
          history.assignments.push({ member: name, parts: e.parts, t: e.t });
        } else if (e.e === 'p') history.processed.push({ member: name, partition: e.p, offset: e.o, value: e.v, s: e.s, f: e.f });
        else if (e.e === 'error') history.errors.push(`${name}: ${e.code} ${e.message}`);
      }
    });
    let stderr = '';
    this.child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      if (code !== 0 && signal === null) history.errors.push(`${name} exited ${code}: ${stderr}`);
    });
  }

  /** SIGKILL by PID. */
  kill(): number {
    const at = Date.now();
    if (!this.exited && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    return at;
  }

  /** SIGTERM (close: commit and leave), then waits for the exit (SIGKILL after 10 s). */
  async stop(): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    process.kill(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => this.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
