import { formatAnomalies } from '../history/format.js';
import type { ChaosResult } from './run-chaos.js';

const secs = (ms: number): string => (ms / 1000).toFixed(1);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The plain-text report `runnel chaos` prints. */
export function textReport(r: ChaosResult): string {
  const s = r.summary;
  const lines = [
    `chaos run, seed ${r.seed}: ${secs(r.endedAtMs - r.startedAtMs)} s, ${r.options.brokers ?? 3} brokers, ${r.options.partitions ?? 3} partitions, replication ${r.options.replicationFactor ?? 3}, fsync ${r.options.fsync ?? 'always'}, acks quorum${r.options.testFault === undefined ? '' : `, TEST FAULT ${r.options.testFault}`}`,
    `operations: ${s.produceOk} produces acknowledged, ${s.produceFail} refused, ${s.produceInfo} unknown (timeout / connection lost); ${s.recordsRead} records read`,
    `availability during faults: ${pct(s.availabilityDuringFaults)} of produces acknowledged`,
    `faults (${r.faults.length}):`,
    ...s.faults.map((f) => `  +${secs(f.fault.startMs - r.startedAtMs)}s  ${f.fault.description} (${secs((Number.isNaN(f.fault.endMs) ? r.endedAtMs : f.fault.endMs) - f.fault.startMs)} s): ${pct(f.availability)} acknowledged, longest gap without an ack ${f.worstGapMs} ms`),
    r.check.valid ? 'anomalies: none — every acknowledged write was read back, no divergence' : `ANOMALIES:\n${formatAnomalies(r.check, 20)}`,
  ];
  return `${lines.join('\n')}\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A self-contained HTML page: faults on a timeline against produce throughput and p99 ack latency. */
export function htmlReport(r: ChaosResult): string {
  const s = r.summary;
  const width = 1000;
  const height = 260;
  const pad = { l: 60, r: 60, t: 20, b: 30 };
  const totalMs = Math.max(1, r.endedAtMs - r.startedAtMs);
  const x = (ms: number): number => pad.l + (ms / totalMs) * (width - pad.l - pad.r);
  const maxRate = Math.max(1, ...s.series.map((p) => p.okPerSecond));
  const maxLat = Math.max(1, ...s.series.map((p) => p.p99));
  const yRate = (v: number): number => height - pad.b - (v / maxRate) * (height - pad.t - pad.b);
  const yLat = (v: number): number => height - pad.b - (v / maxLat) * (height - pad.t - pad.b);
  const line = (pts: Array<[number, number]>): string => pts.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  const rate = line(s.series.map((p) => [x(p.t + s.bucketMs / 2), yRate(p.okPerSecond)]));
  const lat = line(s.series.map((p) => [x(p.t + s.bucketMs / 2), yLat(p.p99)]));
  const palette: Record<string, string> = { kill: '#e57373', powerloss: '#ba68c8', pause: '#ffb74d', partition: '#64b5f6', delay: '#81c784', coordinator: '#a1887f', restart: '#90a4ae' };
  const bands = r.faults.map((f, i) => {
    const a = x(f.startMs - r.startedAtMs);
    const b = x((Number.isNaN(f.endMs) ? r.endedAtMs : f.endMs) - r.startedAtMs);
    return `<rect x="${a.toFixed(1)}" y="${pad.t}" width="${Math.max(1, b - a).toFixed(1)}" height="${height - pad.t - pad.b}" fill="${palette[f.kind] ?? '#ccc'}" opacity="0.35"><title>${escapeHtml(f.description)}</title></rect>`
      + `<text x="${(a + 2).toFixed(1)}" y="${pad.t + 12 + (i % 4) * 12}" font-size="10">${escapeHtml(f.kind)}</text>`;
  }).join('');
  const ticks = Array.from({ length: Math.floor(totalMs / 5000) + 1 }, (_, i) => i * 5000)
    .map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${height - pad.b}" y2="${height - pad.b + 4}" stroke="#333"/><text x="${x(t)}" y="${height - 8}" font-size="10" text-anchor="middle">${t / 1000}s</text>`).join('');
  const faultRows = s.faults.map((f) => `<tr><td>+${secs(f.fault.startMs - r.startedAtMs)}s</td><td>${escapeHtml(f.fault.description)}</td><td>${secs((Number.isNaN(f.fault.endMs) ? r.endedAtMs : f.fault.endMs) - f.fault.startMs)} s</td><td>${pct(f.availability)}</td><td>${f.worstGapMs} ms</td></tr>`).join('');
  const anomalies = r.check.valid
    ? '<p class="ok">No anomalies: every acknowledged write was read back at its offset; reads, replicas and the final logs agree.</p>'
    : `<pre class="bad">${escapeHtml(formatAnomalies(r.check, 50))}</pre>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Runnel chaos run, seed ${r.seed}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1060px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.ok{color:#2e7d32;font-weight:bold}.bad{color:#b71c1c;white-space:pre-wrap}.legend span{margin-right:1.5em}</style></head><body>
<h1>Chaos run, seed ${r.seed}</h1>
<p>${escapeHtml(textReport(r).split('\n')[0] ?? '')}</p>
<p>${s.produceOk} produces acknowledged, ${s.produceFail} refused, ${s.produceInfo} unknown; ${s.recordsRead} records read. Availability during faults: <b>${pct(s.availabilityDuringFaults)}</b>.</p>
${anomalies}
<h2>Timeline</h2>
<p class="legend"><span style="color:#1565c0">━ acknowledged produces/s (left axis, max ${maxRate.toFixed(0)})</span><span style="color:#c62828">━ p99 ack latency (right axis, max ${maxLat.toFixed(0)} ms)</span><span>shaded: faults (hover for details)</span></p>
<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="throughput and latency over time with faults">
${bands}
<line x1="${pad.l}" x2="${width - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#333"/>
<line x1="${pad.l}" x2="${pad.l}" y1="${pad.t}" y2="${height - pad.b}" stroke="#333"/>
<line x1="${width - pad.r}" x2="${width - pad.r}" y1="${pad.t}" y2="${height - pad.b}" stroke="#333"/>
<text x="${pad.l - 6}" y="${pad.t + 8}" font-size="10" text-anchor="end">${maxRate.toFixed(0)}/s</text>
<text x="${width - pad.r + 6}" y="${pad.t + 8}" font-size="10">${maxLat.toFixed(0)} ms</text>
${ticks}
<path d="${rate}" fill="none" stroke="#1565c0" stroke-width="1.5"/>
<path d="${lat}" fill="none" stroke="#c62828" stroke-width="1" stroke-dasharray="3,2"/>
</svg>
<h2>Faults</h2>
<table><tr><th>at</th><th>fault</th><th>lasted</th><th>acknowledged during it</th><th>longest gap without an ack</th></tr>${faultRows}</table>
<p>Cluster data and logs: ${escapeHtml(r.dataDir)}${r.check.valid && r.options.keepData !== true ? ' (removed)' : ''}</p>
</body></html>
`;
}
