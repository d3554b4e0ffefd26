import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FAULT_KINDS, htmlReport, runChaos, textReport, type FaultKind, type FsyncPolicy } from '@runnel/testkit';
import { EXIT_OK } from '../constants.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { jsonDocument } from '../format.js';

/** Exit code when the checker found anomalies. */
export const EXIT_ANOMALIES = 3;

export interface ChaosCommandOptions {
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  readonly seed: number;
  readonly brokers: number;
  readonly partitions: number;
  readonly fsync?: FsyncPolicy;
  readonly sessionTimeoutMs?: number;
  readonly report?: string;
  readonly json?: boolean;
  readonly keepData?: boolean;
  readonly testFault?: 'ack-before-quorum';
}

/** "60s", "2m", "1500ms" or a number of milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new RangeError(`"${text}" is not a duration: use e.g. 60s, 2m or 1500ms`);
  const n = Number(m[1]);
  const ms = m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
  if (!Number.isFinite(ms) || ms < 1_000 || ms > 24 * 3_600_000) throw new RangeError(`duration ${text} must be from 1s to 24h`);
  return Math.round(ms);
}

export function parseFaults(text: string): FaultKind[] {
  const kinds = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (kinds.length === 0) throw new RangeError('name at least one fault');
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new RangeError(`unknown fault "${k}": use ${FAULT_KINDS.join(', ')}`);
  return [...new Set(kinds)] as FaultKind[];
}

/**
 * `runnel chaos`: a fresh local cluster (every link behind a fault proxy), a QUORUM workload, random
 * faults for the duration, then heal, read everything back, check the history and print the
 * report. Exit 0 with no anomaly, 3 with anomalies (the cluster's data and logs are kept).
 */
export async function chaos(opts: ChaosCommandOptions, ctx: CommandContext): Promise<number> {
  if (opts.partitions < 1) throw new UsageError('--partitions must be at least 1');
  const result = await runChaos({
    durationMs: opts.durationMs, faults: opts.faults, seed: opts.seed, brokers: opts.brokers, partitions: opts.partitions,
    logLevel: 'info', keepData: opts.keepData === true,
    ...(opts.fsync === undefined ? {} : { fsync: opts.fsync }),
    ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: opts.sessionTimeoutMs }),
    ...(opts.testFault === undefined ? {} : { testFault: opts.testFault }),
    onProgress: (line) => ctx.output.stderr(`chaos: ${line}\n`),
  });
  if (opts.report !== undefined) {
    const path = resolve(ctx.cwd, opts.report);
    await writeFile(path, htmlReport(result));
    ctx.output.stderr(`chaos: report written to ${path}\n`);
  }
  if (opts.json === true) {
    ctx.output.stdout(jsonDocument({
      seed: result.seed, valid: result.check.valid, stats: result.check.stats, anomalies: result.check.anomalies,
      availabilityDuringFaults: result.summary.availabilityDuringFaults,
      faults: result.summary.faults.map((f) => ({ description: f.fault.description, startMs: f.fault.startMs - result.startedAtMs, endMs: f.fault.endMs - result.startedAtMs, availability: f.availability, worstGapMs: f.worstGapMs })),
      dataDir: result.check.valid && opts.keepData !== true ? null : result.dataDir,
    }));
  } else {
    ctx.output.stdout(textReport(result));
    if (!result.check.valid) ctx.output.stdout(`cluster data and logs kept in ${result.dataDir}\n`);
  }
  return result.check.valid ? EXIT_OK : EXIT_ANOMALIES;
}
