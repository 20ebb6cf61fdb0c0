#!/usr/bin/env node
// Summarises a .cpuprofile (Chrome DevTools / node --cpu-prof format): self time by function and by package.
//   node bench/lib/cpuprofile.mjs file.cpuprofile [top]
import { readFileSync } from 'node:fs';

function packageOf(url) {
  if (!url) return '(native/V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node core';
  const d = url.indexOf('/dist/');
  if (d >= 0) return `mailpage ${url.slice(d + 6).split('/').slice(0, 3).join('/')}`;
  return url;
}

export function summarise(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = deltas[i] ?? 0;
    total += us;
    self.set(id, (self.get(id) ?? 0) + us);
  });
  const fn = new Map();
  const pkg = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/') : '';
    const key = `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const p = ['(idle)', '(program)', '(garbage collector)'].includes(cf.functionName) ? cf.functionName : packageOf(cf.url);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  // Inclusive ("total") time: every function on the stack of a sample gets the sample's time, once per sample.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  profile.samples.forEach((id, i) => {
    const us = deltas[i] ?? 0;
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (!cf.url || cf.url.startsWith('node:')) continue;
      const file = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/');
      const key = `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us);
    }
  });
  const rows = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((1000 * us) / total) / 10 }));
  const appIncl = new Map([...incl].filter(([k]) => k.includes('dist/server/') || k.includes('dist/libs/')));
  return { totalMs: Math.round(total / 1000), functions: rows(fn), packages: rows(pkg), inclusiveApp: rows(appIncl) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = summarise(JSON.parse(readFileSync(process.argv[2], 'utf8')), Number(process.argv[3] ?? 25));
  console.log(`total ${s.totalMs} ms sampled\n\nself time by package:`);
  for (const r of s.packages) console.log(`  ${String(r.pct).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}`);
  console.log('\nself time by function:');
  for (const r of s.functions) console.log(`  ${String(r.pct).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}`);
  console.log('\ntotal (inclusive) time of Mailpage functions:');
  for (const r of s.inclusiveApp) console.log(`  ${String(r.pct).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}`);
}
