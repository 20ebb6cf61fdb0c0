// PGP/MIME alone, in one process: CPU per W2 mail through MailCryptoService.protect of a build (encrypted to the three
// W2 recipients and signed, like the W2 send; no HTTP, no SMTP, no database). The W1 page is composed once.
// node bench/crypto.mjs [--dist DIR] [--n 40] [--batches 5]; add node's --cpu-prof to see where the time goes.
// Also prints the CPU of the MIME steps alone (splitMessage + outerFields + cryptographicPayload: what the encrypted
// path does to the composed message before openpgp sees it).
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
const n = Number(opt('n', 40));
const batches = Number(opt('batches', 5));

const require = createRequire(join(dist, 'package.json'));
const openpgp = require('openpgp');
const { ComposeService } = require(join(dist, 'dist/server/src/compose/compose.service.js'));
const { MailCryptoService } = require(join(dist, 'dist/server/src/crypto/mail-crypto.service.js'));
const mime = require(join(dist, 'dist/server/src/crypto/mime-entity.js'));

const RECIPIENTS = ['alice@example.com', 'bob@example.com', 'dave@example.com'];
const dir = mkdtempSync(join(tmpdir(), 'mailpage-crypto-'));
writePayload(dir, { htmlBytes: 40 * 1024, imageCount: 5, imageBytes: 50 * 1024, attachmentBytes: 200 * 1024, to: RECIPIENTS, title: 'Quarterly release plan' });
const p = readPayload(dir);
rmSync(dir, { recursive: true, force: true });

const { raw } = await new ComposeService().compose({
  title: p.title,
  html: p.html,
  pageUrl: 'https://example.atlassian.net/wiki/spaces/DOCS/pages/163845',
  subjectPrefix: '[Docs]',
  from: { name: 'Docs', address: 'docs@example.com' },
  to: RECIPIENTS.map((address) => ({ name: '', address })),
  cc: [],
  images: p.images.map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content })),
  attachments: p.attachments.map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content })),
  messageIdDomain: 'example.com',
  maxBytes: 40 * 1024 * 1024,
});

const recipientKeys = new Map();
for (const email of RECIPIENTS) recipientKeys.set(email, (await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email }], format: 'armored' })).publicKey);
const passphrase = 'bench passphrase';
const sender = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'docs@example.com' }], passphrase, format: 'armored' });

const service = new MailCryptoService({ now: () => new Date() });
const options = {
  method: 'pgp',
  encrypt: true,
  sign: true,
  envelopeFrom: 'docs@example.com',
  to: RECIPIENTS,
  cc: [],
  bcc: [],
  recipientKeys,
  senderKey: sender.publicKey,
  signer: { method: 'pgp', armoredKey: sender.privateKey, passphrase },
};
const mimeSteps = () => {
  const msg = mime.splitMessage(raw);
  const outer = mime.outerFields(msg, mime.DEFAULT_OUTER_SUBJECT);
  return mime.cryptographicPayload(msg, { hp: 'cipher', outer });
};

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
async function measure(what, run, count) {
  for (let i = 0; i < Math.min(10, count); i++) await run();
  const per = [];
  for (let b = 0; b < batches; b++) {
    const start = cpu();
    for (let i = 0; i < count; i++) await run();
    per.push((cpu() - start) / count);
  }
  per.sort((a, b) => a - b);
  console.log(`${what}: ${per[Math.floor(batches / 2)].toFixed(2)} ms CPU (median of ${batches} batches of ${count}; min ${per[0].toFixed(2)}, max ${per.at(-1).toFixed(2)})`);
}

console.log(`${dist}: W1 message ${raw.length} bytes`);
await measure('protect (pgp, encrypt + sign, 3 recipients + sender key)', () => service.protect(raw, options), n);
await measure('MIME steps alone (split, outer fields, payload)', mimeSteps, n * 5);
