// Deterministic payloads: a Confluence-like page, raster images that really are PNGs (the server sniffs them), an
// attachment of random bytes, and OpenPGP keys. Server and baseline read the same files from one directory.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { require } from './infra.mjs';

export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFill(size, seed) {
  const rnd = prng(seed);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) {
    const v = (rnd() * 4294967296) >>> 0;
    b.writeUInt32LE(v, Math.min(i, size - 4));
  }
  return b;
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An RGB PNG of noise (incompressible) of about `bytes` bytes. */
export function noisePng(bytes, seed) {
  const width = 128;
  const rowBytes = width * 3 + 1;
  const height = Math.max(1, Math.round((bytes - 100) / rowBytes));
  const raw = randomFill(rowBytes * height, seed);
  for (let y = 0; y < height; y++) raw[y * rowBytes] = 0; // filter type "none"
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 0 })), chunk('IEND', Buffer.alloc(0))]);
}

const WORDS = 'release plan quarter migration service database latency budget owner review customer rollout feature flag incident metric dashboard schedule milestone dependency risk mitigation onboarding platform security audit'.split(' ');

/**
 * A page shaped like Confluence's export view (what the server gets for a page): headings, paragraphs with links
 * and emphasis, info panels, tables with colgroups, lists, code panels, inline style attributes and Confluence's
 * classes and data- attributes, no <style> element; `<img src="cid:...">` for each image; about `bytes` bytes.
 */
export function pageHtml(bytes, imageNames, seed = 7) {
  const rnd = prng(seed);
  const word = () => WORDS[Math.floor(rnd() * WORDS.length)];
  const sentence = (n = 12) => {
    const s = Array.from({ length: n }, word).join(' ');
    return s[0].toUpperCase() + s.slice(1) + '.';
  };
  const link = (i) =>
    `<a href="/wiki/spaces/DOCS/pages/${163800 + i}/${word()}" data-linked-resource-id="${163800 + i}" data-linked-resource-version="3" data-linked-resource-type="page">${word()} ${word()}</a>`;
  const parts = [
    `<h1 id="Quarterly-report">Quarterly ${word()} ${word()} report</h1>`,
    '<div class="confluence-information-macro confluence-information-macro-information conf-macro output-block" data-hasbody="true" data-macro-name="info">' +
      '<span class="aui-icon aui-icon-small aui-iconfont-info confluence-information-macro-icon"> </span>' +
      `<div class="confluence-information-macro-body"><p>${sentence(20)}</p></div></div>`,
  ];
  let img = 0;
  let section = 0;
  const size = () => parts.reduce((n, p) => n + p.length, 0);
  while (size() < bytes - 200 || img < imageNames.length) {
    section++;
    parts.push(`<h2 id="section-${section}">${section}. ${sentence(4)}</h2>`);
    parts.push(`<p>${sentence(18)} <strong>${sentence(4)}</strong> ${link(section)} ${sentence(10)} <em>${sentence(3)}</em> ${sentence(6)}</p>`);
    parts.push(`<ul>${Array.from({ length: 4 }, () => `<li><p>${sentence(8)}</p></li>`).join('')}</ul>`);
    if (section % 2 === 0) {
      const rows = Array.from({ length: 5 }, () => `<tr>${Array.from({ length: 4 }, () => `<td class="confluenceTd"><p>${word()} ${Math.floor(rnd() * 1000)}</p></td>`).join('')}</tr>`).join('');
      parts.push(
        '<div class="table-wrap"><table data-table-width="760" data-layout="default" class="confluenceTable"><colgroup>' +
          '<col style="width: 190.0px;"><col style="width: 190.0px;"><col style="width: 190.0px;"><col style="width: 190.0px;"></colgroup><tbody>' +
          `<tr>${['Item', 'Owner', 'Status', 'Due'].map((h) => `<th class="confluenceTh"><p><strong>${h}</strong></p></th>`).join('')}</tr>${rows}</tbody></table></div>`,
      );
    }
    if (section % 3 === 0) {
      parts.push(
        '<div class="code panel pdl conf-macro output-block" style="border-width: 1px;" data-hasbody="true" data-macro-name="code"><div class="codeContent panelContent pdl">' +
          `<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: js; gutter: false; theme: Confluence" data-theme="Confluence">const ${word()} = await ${word()}.${word()}(&quot;${word()}&quot;, { limit: ${section} });\nif (!${word()}) throw new Error(&quot;${sentence(3)}&quot;);</pre></div></div>`,
      );
    }
    if (section % 4 === 1) parts.push(`<p style="text-align: center;"><span style="color: rgb(101,84,192);">${sentence(9)}</span></p>`);
    if (img < imageNames.length && section % 2 === 1) {
      parts.push(
        `<p><span class="confluence-embedded-file-wrapper image-center-wrapper confluence-embedded-manual-size"><img class="confluence-embedded-image image-center" draggable="false" width="600" src="cid:${imageNames[img]}" alt="Figure ${img + 1}: ${sentence(3)}" data-image-src="/wiki/download/attachments/163845/${imageNames[img]}" data-linked-resource-type="attachment"></span></p>`,
      );
      img++;
    }
  }
  return parts.join('\n');
}

/**
 * Writes the payload of one workload into `dir` and returns its manifest (also written as manifest.json):
 * { title, html, images: [{ filename, contentType, path }], attachments: [...], to: [...] }.
 */
export function writePayload(dir, { htmlBytes, imageCount, imageBytes, attachmentBytes, to, title }) {
  mkdirSync(dir, { recursive: true });
  const images = Array.from({ length: imageCount }, (_, i) => {
    const filename = `image-${i + 1}.png`;
    const path = join(dir, filename);
    writeFileSync(path, noisePng(imageBytes, 100 + i));
    return { filename, contentType: 'image/png', path };
  });
  const html = pageHtml(htmlBytes, images.map((i) => i.filename));
  const attachments = [];
  if (attachmentBytes) {
    const path = join(dir, 'report.pdf');
    writeFileSync(path, randomFill(attachmentBytes, 42));
    attachments.push({ filename: 'report.pdf', contentType: 'application/pdf', path });
  }
  writeFileSync(join(dir, 'page.html'), html);
  const manifest = { title, htmlPath: join(dir, 'page.html'), htmlBytes: Buffer.byteLength(html), images, attachments, to };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}

export function readPayload(dir) {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const load = (f) => ({ ...f, content: readFileSync(f.path) });
  return { ...m, html: readFileSync(m.htmlPath, 'utf8'), images: m.images.map(load), attachments: m.attachments.map(load) };
}

/**
 * Curve25519 keys: one per recipient (public part for upload, as `gpg --export` gives it) and the sender's signing
 * key, locked with a passphrase as an admin would upload it. Written as keys.json in `dir`.
 */
export async function writePgpKeys(dir, recipients, sender) {
  const openpgp = require('openpgp');
  const passphrase = randomBytes(12).toString('base64url');
  const out = { recipients: {}, sender: null };
  for (const r of recipients) {
    const { publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: r.name, email: r.email }], format: 'armored' });
    out.recipients[r.email] = publicKey;
  }
  const s = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: sender.name, email: sender.email }], passphrase, format: 'armored' });
  out.sender = { email: sender.email, privateKey: s.privateKey, publicKey: s.publicKey, passphrase };
  writeFileSync(join(dir, 'keys.json'), JSON.stringify(out, null, 2));
  return out;
}
