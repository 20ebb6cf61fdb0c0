// Composing alone, in one process: CPU per W1 mail through ComposeService.compose of a build (no HTTP, no SMTP).
// node bench/compose.mjs [--dist DIR] [--n 200] [--batches 7]; add node's --cpu-prof to see where the time goes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readPayload, writePayload } from './lib/fixtures.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? dflt : argv[i + 1];
};
const dist = resolve(opt('dist', '.'));
const n = Number(opt('n', 100));
const batches = Number(opt('batches', 7));

const require = createRequire(join(dist, 'package.json'));
const { ComposeService } = require(join(dist, 'dist/server/src/compose/compose.service.js'));

const dir = mkdtempSync(join(tmpdir(), 'mailpage-compose-'));
writePayload(dir, { htmlBytes: 40_000, imageCount: 5, imageBytes: 50_000, attachmentBytes: 200_000, to: ['a@example.com'], title: 'Quarterly report' });
const p = readPayload(dir);
rmSync(dir, { recursive: true, force: true });

const composer = new ComposeService();
const input = {
  title: p.title,
  html: p.html,
  pageUrl: 'https://example.atlassian.net/wiki/spaces/DOCS/pages/163845',
  subjectPrefix: '[Docs]',
  from: { name: 'Docs', address: 'docs@example.com' },
  to: [{ name: '', address: 'ann@example.com' }, { name: '', address: 'bob@example.com' }],
  cc: [{ name: '', address: 'cy@example.com' }],
  images: p.images.map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content })),
  attachments: p.attachments.map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content })),
  messageIdDomain: 'example.com',
  maxBytes: 40 * 1024 * 1024,
};

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
for (let i = 0; i < 20; i++) await composer.compose(input);
const perMail = [];
let size = 0;
for (let b = 0; b < batches; b++) {
  const start = cpu();
  for (let i = 0; i < n; i++) size = (await composer.compose(input)).size;
  perMail.push((cpu() - start) / n);
}
perMail.sort((a, b) => a - b);
console.log(`${dist}: compose ${perMail[Math.floor(batches / 2)].toFixed(1)} ms CPU per W1 mail (median of ${batches} batches of ${n}; min ${perMail[0].toFixed(1)}, max ${perMail.at(-1).toFixed(1)}); message ${size} bytes`);
