// The results table: from bench/results.json to the terminal and to docs/BENCHMARKS.md.
//   node bench/lib/report.mjs [bench/results.json]    prints the table (markdown) of a results file
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { median, round } from './stats.mjs';

/** How much CPU other processes took during the measured runs: the numbers are only as good as this is low. */
export function noiseSummary(r, cores) {
  const all = [];
  const walk = (o) => {
    if (!o || typeof o !== 'object') return;
    if (typeof o.foreignCores === 'number') all.push(o.foreignCores);
    for (const v of Object.values(o)) if (v && typeof v === 'object' && !Array.isArray(v)) walk(v);
    for (const v of Object.values(o)) if (Array.isArray(v)) v.forEach(walk);
  };
  walk(r.workloads);
  return { runs: all.length, medianForeignCores: round(median(all), 2), maxForeignCores: all.length ? round(Math.max(...all), 2) : null, cores };
}

const fmt = (v, unit = '') => (v === null || v === undefined ? '–' : `${v}${unit}`);
const mark = (t) => (t?.pass === true ? '✓' : t?.pass === false ? '✗' : '–');

export function table(r) {
  const rows = [['workload', 'metric', 'server', 'baseline', 'server/baseline', 'target', '']];
  const w = r.workloads;
  const status = (id) => (w[id]?.status && w[id].status !== 'done' ? `${w[id].status}${w[id].reason ? `: ${w[id].reason}` : w[id].error ? `: ${w[id].error}` : ''}` : null);
  for (const id of ['W1', 'W2']) {
    const x = w[id];
    const name = id === 'W1' ? 'W1 typical page' : 'W2 PGP/MIME + sign';
    if (!x || status(id)) {
      rows.push([name, status(id) ?? 'not run', '', '', '', id === 'W1' ? '≥ 0.9 ×' : '≥ 0.85 ×', '–']);
      continue;
    }
    rows.push([name, 'sends/s', fmt(x.server.median.sendsPerSec), fmt(x.baseline.median.sendsPerSec), fmt(x.ratio.throughput, ' ×'), id === 'W1' ? '≥ 0.9 ×' : '≥ 0.85 ×', mark(x.targets[0])]);
    rows.push(['', 'p50 latency', fmt(x.server.median.p50, ' ms'), fmt(x.baseline.median.p50, ' ms'), '', '', '']);
    rows.push(['', 'p99 latency', fmt(x.server.median.p99, ' ms'), fmt(x.baseline.median.p99, ' ms'), fmt(x.ratio.p99DeltaMs, ' ms'), id === 'W1' ? '≤ baseline + 15 ms' : '', id === 'W1' ? mark(x.targets[1]) : '']);
    rows.push(['', 'CPU per send', fmt(x.server.median.cpuMsPerSend, ' ms'), fmt(x.baseline.median.cpuMsPerSend, ' ms'), fmt(round(x.server.median.cpuMsPerSend / x.baseline.median.cpuMsPerSend, 1), ' ×'), '', '']);
    rows.push(['', 'DB statements per send', Object.entries(x.server.runs[0]?.dbStatementsPerSend ?? {}).map(([k, v]) => `${v} ${k}`).join(', ') || '–', '', '', '', '']);
    rows.push(['', 'peak RSS (VmHWM)', fmt(x.server.median.peakRssMB, ' MB'), fmt(x.baseline.median.peakRssMB, ' MB'), '', '', '']);
  }
  const w3 = w.W3;
  if (!w3 || status('W3')) rows.push(['W3 20 MB attachment', status('W3') ?? 'not run', '', '', '', '', '–']);
  else {
    rows.push(['W3 20 MB attachment', 'time', fmt(w3.server.median.seconds, ' s'), fmt(w3.baseline.median.seconds, ' s'), fmt(w3.ratio.time, ' ×'), '≤ 1.3 ×', mark(w3.targets[1])]);
    rows.push(['', 'peak RSS growth', fmt(w3.server.median.growthMB, ' MB'), fmt(w3.baseline.median.growthMB, ' MB'), '', `≤ ${3 * w3.attachmentMB} MB`, mark(w3.targets[0])]);
  }
  const w4 = w.W4;
  if (!w4 || status('W4')) rows.push(['W4 many tenants', status('W4') ?? 'not run', '', '', '', '', '–']);
  else {
    rows.push([`W4 ${w4.tenants} tenants`, 'sends/s', fmt(w4.server.median.sendsPerSec), fmt(w4.baseline?.median.sendsPerSec), `${fmt(w4.ratio.throughputVsW1, ' × W1')}`, '≥ 0.8 × W1', mark(w4.targets[0])]);
    rows.push(['', 'sends done (of ' + w4.sends + ', 150 s at most)', fmt(w4.server.run.ok), fmt(w4.baseline?.run.ok), '', '', '']);
    rows.push(['', 'p50 / p99 latency', `${fmt(w4.server.median.p50)} / ${fmt(w4.server.median.p99, ' ms')}`, w4.baseline ? `${fmt(w4.baseline.median.p50)} / ${fmt(w4.baseline.median.p99, ' ms')}` : '–', '', '', '']);
    rows.push(['', 'CPU per send', `${fmt(w4.server.median.cpuMsPerSend, ' ms')} (W1: ${fmt(w.W1?.server?.median?.cpuMsPerSend, ' ms')})`, fmt(w4.baseline?.median.cpuMsPerSend, ' ms'), '', '', '']);
    rows.push(['', 'RSS warm → end', `${fmt(w4.rss.warmMB)} → ${fmt(w4.rss.endMB, ' MB')}`, '', '', `growth ≤ ${w4.rss.allowedMB} MB`, mark(w4.targets[1])]);
    rows.push(['', 'SMTP connections (max; opened per send)', `${fmt(w4.smtpConnections.max)}; ${fmt(w4.server.run.smtpConnectionsOpenedPerSend)}`, '', '', `≤ ${w4.smtpConnections.bound}`, mark(w4.targets[2])]);
  }
  const w5 = w.W5;
  if (!w5 || status('W5')) rows.push(['W5 SPA', status('W5') ?? 'not run', '', '', '', '', '–']);
  else {
    rows.push(['W5 SPA', 'initial JS+CSS (gzip -9)', typeof w5.bundle === 'string' ? w5.bundle : `${w5.bundle.gzipKB} kB (${w5.bundle.rawKB} kB raw, ${w5.bundle.files.length} files)`, '', '', '≤ 250 kB', mark(w5.targets[0])]);
    rows.push(['', 'send dialog: Send button ready', typeof w5.dialog === 'string' ? w5.dialog : w5.dialog ? `${w5.dialog.medianMs} ms median (first ${w5.dialog.firstRunMs} ms)` : '–', '', '', '', '']);
  }
  return rows;
}

export function markdown(rows) {
  const [head, ...body] = rows;
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function plain(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((v, c) => String(v).padEnd(widths[c])).join('  ')).join('\n');
}

export function updateDoc(r, file) {
  if (!existsSync(file)) return false;
  const doc = readFileSync(file, 'utf8');
  const start = '<!-- bench:latest:start -->';
  const end = '<!-- bench:latest:end -->';
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) return false;
  const m = r.machine;
  const block = [
    start,
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.cpu}, ${m.memoryGB} GB, Linux ${m.kernel}, Node ${m.node}, MariaDB ${m.mariadb}; commit ${m.commit ?? '?'}; ${Math.round(r.durationSeconds)} s in all. ` +
      `Other processes took a median ${r.noise.medianForeignCores} (max ${r.noise.maxForeignCores}) of the ${r.noise.cores} cores during the measured runs.`,
    '',
    markdown(table(r)),
    end,
  ].join('\n');
  writeFileSync(file, doc.slice(0, a) + block + doc.slice(b + end.length));
  return true;
}


if (import.meta.url === `file://${process.argv[1]}`) {
  const r = JSON.parse(readFileSync(process.argv[2] ?? new URL('../results.json', import.meta.url).pathname, 'utf8'));
  process.stdout.write(`${markdown(table(r))}\n`);
}
