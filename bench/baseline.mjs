#!/usr/bin/env node
// The baseline: what a plain Node script costs to send the same mail with nodemailer alone. It composes the same
// HTML, the same inline images (cid:) and attachment, optionally PGP/MIME-encrypts and signs it with openpgp, and
// sends it through a pooled SMTP transport at the same concurrency as the server is driven with.
//
//   node bench/baseline.mjs spec.json
//
// spec: { fixtureDir, sinks: [port], from: { name, address }, count, warmup, concurrency, timeLimitMs,
//         tenants (1: one transport; N: one pooled transport per tenant, at most poolMax open), poolMax,
//         encryption: null | "pgp", keysFile }
// Protocol with bench/run.mjs: after warm-up it prints "READY", waits for "GO" on stdin, runs, prints
// "RESULT <json>", and exits on "EXIT" (or when stdin closes). run.mjs reads this process's memory and CPU time
// from /proc in between.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('..', import.meta.url).pathname;
const require = createRequire(join(ROOT, 'package.json'));
const nodemailer = require('nodemailer');
const MailComposer = require('nodemailer/lib/mail-composer');
const { convert } = require('html-to-text');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const manifest = JSON.parse(readFileSync(join(spec.fixtureDir, 'manifest.json'), 'utf8'));
const html = readFileSync(manifest.htmlPath, 'utf8');
const text = convert(html, { wordwrap: 78 }); // once: a script would have its text ready, or skip it
const images = manifest.images.map((f) => ({ filename: f.filename, content: readFileSync(f.path), contentType: f.contentType, cid: f.filename, contentDisposition: 'inline' }));
const attachments = manifest.attachments.map((f) => ({ filename: f.filename, content: readFileSync(f.path), contentType: f.contentType, contentDisposition: 'attachment' }));

function mailFor(tenant) {
  const from = spec.tenants > 1 ? { name: spec.from.name, address: spec.from.address.replace('@', `+t${tenant}@`) } : spec.from;
  return {
    from,
    to: manifest.to,
    subject: manifest.title,
    text,
    html,
    attachments: [...images, ...attachments],
    textEncoding: 'quoted-printable',
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

// --- transports: one, or one per tenant with at most poolMax open (least recently used closed) ---
const transports = new Map();
function transportFor(tenant) {
  let t = transports.get(tenant);
  if (t) {
    transports.delete(tenant);
    transports.set(tenant, t);
    return t;
  }
  const port = spec.sinks[tenant % spec.sinks.length];
  t = { inFlight: 0, evicted: false, tx: nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 3, maxMessages: 100, logger: false }) };
  transports.set(tenant, t);
  if (transports.size > (spec.poolMax ?? 200)) {
    const [oldKey, old] = transports.entries().next().value;
    transports.delete(oldKey);
    old.evicted = true;
    if (old.inFlight === 0) old.tx.close();
  }
  return t;
}

// --- PGP/MIME (RFC 3156): encrypt to every recipient key and sign inside, as one OpenPGP message ---
let pgp = null;
if (spec.encryption === 'pgp') {
  const openpgp = require('openpgp');
  const keys = JSON.parse(readFileSync(spec.keysFile, 'utf8'));
  const encryptionKeys = await Promise.all(manifest.to.map((a) => openpgp.readKey({ armoredKey: keys.recipients[a] })));
  const signingKey = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: keys.sender.privateKey }), passphrase: keys.sender.passphrase });
  pgp = { openpgp, encryptionKeys, signingKey };
}

async function encryptedRaw(mail) {
  const inner = await new MailComposer(mail).compile().build();
  const { openpgp, encryptionKeys, signingKey } = pgp;
  const armored = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: new Uint8Array(inner) }), encryptionKeys, signingKeys: [signingKey], format: 'armored' });
  const b = `----=_pgp_${randomBytes(12).toString('hex')}`;
  const headers = [
    `From: ${mail.from.name ? `"${mail.from.name}" ` : ''}<${mail.from.address}>`,
    `To: ${mail.to.join(', ')}`,
    'Subject: [...]',
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomBytes(16).toString('hex')}@example.com>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n boundary="${b}"`,
  ];
  const body = [
    `--${b}`, 'Content-Type: application/pgp-encrypted', 'Content-Description: PGP/MIME version identification', '', 'Version: 1', '',
    `--${b}`, 'Content-Type: application/octet-stream; name="encrypted.asc"', 'Content-Disposition: inline; filename="encrypted.asc"', '',
    armored.replace(/\r?\n/g, '\r\n'), `--${b}--`, '',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'latin1');
}

async function sendOne(i) {
  const tenant = spec.tenants > 1 ? i % spec.tenants : 0;
  const t = transportFor(tenant);
  const mail = mailFor(tenant);
  t.inFlight++;
  try {
    if (pgp) {
      const raw = await encryptedRaw(mail);
      await t.tx.sendMail({ envelope: { from: mail.from.address, to: mail.to }, raw });
    } else {
      await t.tx.sendMail(mail);
    }
  } finally {
    t.inFlight--;
    if (t.evicted && t.inFlight === 0) t.tx.close();
  }
}

async function run(count, concurrency, timeLimitMs) {
  const latencies = [];
  let next = 0;
  let errors = 0;
  let firstError = null;
  let timedOut = false;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      if (next >= count || errors >= 20) return;
      if (performance.now() - started > timeLimitMs) {
        timedOut = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      try {
        await sendOne(i);
        latencies.push(performance.now() - t0);
      } catch (e) {
        errors++;
        firstError ??= String(e?.message ?? e);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok: latencies.length, errorCount: errors, firstError, timedOut, elapsedMs: performance.now() - started, latencies };
}

if (spec.warmup) await run(spec.warmup, spec.concurrency, 60_000);
process.stdout.write('READY\n');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const waitFor = async (word) => {
  for (;;) {
    const { value, done } = await lines.next();
    if (done || value.trim() === word) return;
  }
};
await waitFor('GO');
const result = await run(spec.count, spec.concurrency, spec.timeLimitMs);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
await waitFor('EXIT');
for (const t of transports.values()) t.tx.close();
process.exit(0);
