/** Turns a CheckResult into a few lines for a test report. Pure: builds a string, prints nothing. */
import { ANOMALY_KINDS, isViolation } from './checker.js';
import type { CheckResult } from './history-types.js';

/** Examples shown by formatAnomalies when no limit is given. */
export const FORMAT_EXAMPLES_DEFAULT = 10;

/**
 * One summary line, one line per anomaly kind found (count; explained duplicates counted apart),
 * then up to `limit` example messages, violations first.
 */
export function formatAnomalies(result: CheckResult, limit: number = FORMAT_EXAMPLES_DEFAULT): string {
  const { stats, anomalies } = result;
  const violations = anomalies.filter(isViolation);
  const lines = [
    `${result.valid ? 'valid' : 'INVALID'}: ${violations.length} violation(s), ${anomalies.length - violations.length} explained; `
    + `produce ok ${stats.produceOk} / fail ${stats.produceFail} / info ${stats.produceInfo}, `
    + `${stats.reads} read(s), ${stats.recordsRead} record(s) read`,
  ];
  for (const kind of ANOMALY_KINDS) {
    const ofKind = anomalies.filter((a) => a.kind === kind);
    if (ofKind.length === 0) continue;
    const explained = ofKind.filter((a) => !isViolation(a)).length;
    const partitions = [...new Set(ofKind.map((a) => a.partition))].sort((a, b) => a - b);
    lines.push(`  ${kind}: ${ofKind.length}${explained > 0 ? ` (${explained} explained by retry)` : ''} in partition(s) ${partitions.join(', ')}`);
  }
  const examples = [...violations, ...anomalies.filter((a) => !isViolation(a))].slice(0, Math.max(0, limit));
  if (examples.length > 0) {
    lines.push(`examples (${examples.length} of ${anomalies.length}):`);
    for (const a of examples) lines.push(`  [${a.kind}] partition ${a.partition}: ${a.message}`);
  }
  return lines.join('\n');
}
