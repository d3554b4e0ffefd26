import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import {
  IN_FLIGHT_RECORDS_MAX, LATENCY_RECORDS_MAX, LINGER_MS_MAX, PARTITIONS_MAX, PAYLOAD_HEADER_BYTES, RATE_PER_SECOND_MAX,
  RECORD_BYTES_MAX, RECORDS_MAX, REPLICATION_MAX, WORKLOAD_FILE_BYTES_MAX, WORKLOADS_MAX,
} from './constants.js';
import { WORKLOAD_KINDS, kindDefaults, warmupFor, workloadName } from './workload.js';
import type { Workload } from './workload.js';

/**
 * Workload files (YAML), e.g. bench/workloads/standard.yaml:
 *
 *   description: what this file measures          # optional
 *   defaults: { replication: 3, acks: quorum }    # optional: any workload field but kind and name
 *   workloads:
 *     - kind: throughput                          # throughput | ack-latency | end-to-end-latency | catch-up | round-trip
 *       partitions: [1, 6]                        # a number or a list: one workload per value
 *       recordBytes: [100, 1024]                  # the same
 *       records: 100000
 *
 * Unknown keys, wrong types and out-of-range values are refused with the path of the bad field.
 */

/** A bad workload file: a usage error (exit 2) naming the file and the field. */
export class WorkloadFileError extends UsageError {
  constructor(source: string, detail: string) {
    super(`workload file ${source}: ${detail}`);
    this.name = 'WorkloadFileError';
  }
}

const int = (min: number, max: number): z.ZodInt => z.int().min(min).max(max);
const intOrList = (min: number, max: number): z.ZodType<number | number[]> =>
  z.union([int(min, max), z.array(int(min, max)).min(1).max(WORKLOADS_MAX)]);

const fields = {
  partitions: intOrList(1, PARTITIONS_MAX).optional(),
  recordBytes: intOrList(1, RECORD_BYTES_MAX).optional(),
  replication: int(1, REPLICATION_MAX).optional(),
  acks: z.enum(['none', 'leader', 'quorum', 'all']).optional(),
  records: int(1, RECORDS_MAX).optional(),
  warmupRecords: int(0, RECORDS_MAX).optional(),
  inFlightRecordsMax: int(1, IN_FLIGHT_RECORDS_MAX).optional(),
  ratePerSecond: int(1, RATE_PER_SECOND_MAX).optional(),
  lingerMs: int(0, LINGER_MS_MAX).optional(),
};

const workloadSchema = z.strictObject({
  kind: z.enum(WORKLOAD_KINDS),
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ -').optional(),
  ...fields,
});

const fileSchema = z.strictObject({
  description: z.string().max(1_000).optional(),
  defaults: z.strictObject(fields).optional(),
  workloads: z.array(workloadSchema).min(1).max(WORKLOADS_MAX),
});

type WorkloadSpec = z.infer<typeof workloadSchema>;
type Defaults = NonNullable<z.infer<typeof fileSchema>['defaults']>;

function list(value: number | number[]): number[] {
  return Array.isArray(value) ? value : [value];
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function expand(spec: WorkloadSpec, defaults: Defaults, index: number, source: string): Workload[] {
  const d = kindDefaults(spec.kind);
  const records = spec.records ?? defaults.records ?? d.records;
  const base = spec.name ?? spec.kind;
  const out: Workload[] = [];
  for (const partitions of list(spec.partitions ?? defaults.partitions ?? [...d.partitions])) {
    for (const recordBytes of list(spec.recordBytes ?? defaults.recordBytes ?? [...d.recordBytes])) {
      const w: Workload = {
        name: workloadName(base, partitions, recordBytes, spec.kind),
        kind: spec.kind,
        partitions,
        replication: spec.replication ?? defaults.replication ?? d.replication,
        acks: spec.acks ?? defaults.acks ?? d.acks,
        records,
        recordBytes,
        warmupRecords: spec.warmupRecords ?? defaults.warmupRecords ?? warmupFor(records),
        inFlightRecordsMax: spec.inFlightRecordsMax ?? defaults.inFlightRecordsMax ?? d.inFlightRecordsMax,
        ratePerSecond: spec.ratePerSecond ?? defaults.ratePerSecond ?? d.ratePerSecond,
        lingerMs: spec.lingerMs ?? defaults.lingerMs ?? d.lingerMs,
      };
      checkWorkload(w, `workloads[${index}]`, source);
      out.push(w);
    }
  }
  return out;
}

/** Combinations the schema cannot express. */
function checkWorkload(w: Workload, where: string, source: string): void {
  if (w.kind === 'end-to-end-latency' && w.recordBytes < PAYLOAD_HEADER_BYTES) {
    throw new WorkloadFileError(source, `${where}.recordBytes: end-to-end-latency records carry a ${PAYLOAD_HEADER_BYTES}-byte send-time header, so recordBytes must be at least ${PAYLOAD_HEADER_BYTES}, got ${w.recordBytes}`);
  }
  if ((w.kind === 'ack-latency' || w.kind === 'end-to-end-latency' || w.kind === 'round-trip') && w.records + w.warmupRecords > LATENCY_RECORDS_MAX) {
    throw new WorkloadFileError(source, `${where}.records: a latency workload keeps one sample per record, so records + warmupRecords must be at most ${LATENCY_RECORDS_MAX}`);
  }
  if (w.kind === 'ack-latency' && w.acks === 'none') {
    throw new WorkloadFileError(source, `${where}.acks: ack-latency measures acknowledgements; acks "none" answers before the append`);
  }
}

/** Parses and validates a workload file's text; `source` names it in errors. Pure. */
export function parseWorkloadFile(text: string, source: string): Workload[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) throw new WorkloadFileError(source, `not valid YAML: ${yamlError.message}`);
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkloadFileError(source, issue === undefined ? 'invalid' : `${issuePath(issue.path)}: ${issue.message}`);
  }
  const defaults = parsed.data.defaults ?? {};
  const workloads = parsed.data.workloads.flatMap((spec, i) => expand(spec, defaults, i, source));
  if (workloads.length > WORKLOADS_MAX) throw new WorkloadFileError(source, `expands to ${workloads.length} workloads; at most ${WORKLOADS_MAX}`);
  const seen = new Set<string>();
  for (const w of workloads) {
    if (seen.has(w.name)) throw new WorkloadFileError(source, `two workloads are named "${w.name}": give one a different name`);
    seen.add(w.name);
  }
  return workloads;
}

/** Reads and parses a workload file (bounded in size). */
export async function loadWorkloadFile(path: string): Promise<Workload[]> {
  let bytes: number;
  try {
    bytes = (await stat(path)).size;
  } catch (err) {
    throw new WorkloadFileError(path, `cannot read it (${err instanceof Error ? err.message : String(err)})`);
  }
  if (bytes > WORKLOAD_FILE_BYTES_MAX) throw new WorkloadFileError(path, `is ${bytes} bytes; at most ${WORKLOAD_FILE_BYTES_MAX}`);
  return parseWorkloadFile(await readFile(path, 'utf8'), path);
}
