import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import * as qp from 'nodemailer/lib/qp';
import { decodeWords } from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { ComposeService } from '../compose/compose.service';
import { assertCanonical, crlfText, cryptographicPayload, DEFAULT_OUTER_SUBJECT, entityBytes, entityPieces, multipartBody, outerFields, splitMessage, type HeaderField, type PayloadOptions, type SplitMessage } from './mime-entity';

// The encrypted path's MIME steps were made cheaper (native scans instead of loops per byte, no whole-message strings,
// one copy of the payload instead of one per changed part). Their output must not change: every result here is
// compared byte for byte, and every error by its message, with the implementation as it was before, kept below.

describe('same bytes as before', () => {
  it('for composed pages: encrypted and signed-only payloads', async () => {
    for (const raw of await composedMessages()) {
      const options: PayloadOptions[] = [
        { hp: 'cipher', outer: outerFields(splitMessage(raw), DEFAULT_OUTER_SUBJECT) },
        { hp: 'cipher', outer: outerFields(splitMessage(raw), 'Verschlüsselt') },
        { hp: 'clear' },
      ];
      for (const o of options) {
        const now = cryptographicPayload(splitMessage(raw), o);
        expect(now.equals(before.cryptographicPayload(before.splitMessage(raw), o))).toBe(true);
      }
    }
  });

  it('for generated MIME trees with awkward quoted-printable, base64 and boundaries', () => {
    const random = prng(20_251_122);
    let changed = 0;
    for (let n = 0; n < 1000; n++) {
      const msg = randomMessage(random);
      const o: PayloadOptions = { hp: 'cipher', outer: [{ name: 'Subject', raw: 'Subject: [...]' }] };
      const now = outcome(() => cryptographicPayload(msg, o));
      expect(now).toEqual(outcome(() => before.cryptographicPayload(msg, o)));
      if (Buffer.isBuffer(now) && now.toString('latin1').includes('hp-legacy-display')) changed++;
    }
    // The generator must reach the legacy display code often enough to mean something.
    expect(changed).toBeGreaterThan(200);
  });

  it('for hand-made boundary and quoted-printable corner cases', () => {
    const text = (body: string, type = 'text/plain; charset=utf-8') => `Content-Type: ${type}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${body}`;
    const bodies: [string, string][] = [
      ['b', `--b\r\n${text('one\r\nx\n--b\r\nstill one')}\r\n--b\r\n${text('two')}\r\n--b--\r\n`],
      ['b', `\n--b\r\n${text('one')}\r\n--b \t\r\n${text('two=\r\n=41= \r\n=4')}\r\n--b--junk\r\n--bx\r\n--b--\r\n`],
      ['b', `--b\r\n--b\r\n${text('after an empty part')}\r\n\r--b\r\n--b`],
      ['b', `preamble --b\r\n--b\r\n${text('<p>no body tag</p>', 'text/html')}`],
      ['b', `--b\r\n${text('<html><BODY\r\n class=x>hi</BODY>', 'text/html; charset=utf-8')}\r\n--b--`],
      ['a b', `--a b\r\n${text('quoted boundary with a space')}\r\n--a b--\r\n`],
    ];
    const fields = (type: string): HeaderField[] => [
      { name: 'Subject', raw: 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=' },
      { name: 'Content-Type', raw: `Content-Type: ${type}` },
    ];
    const o: PayloadOptions = { hp: 'cipher', outer: [] };
    for (const [boundary, body] of bodies) {
      for (const type of ['multipart/alternative', 'multipart/mixed']) {
        const msg: SplitMessage = { fields: fields(`${type}; boundary="${boundary}"`), body: Buffer.from(body, 'latin1') };
        expect(outcome(() => cryptographicPayload(msg, o))).toEqual(outcome(() => before.cryptographicPayload(msg, o)));
      }
    }
    // A boundary beyond latin1 ("Ł", from fields not read from bytes) is in no body, not even as the byte its code
    // ends in ("A").
    const wide: SplitMessage = { fields: fields('multipart/mixed; boundary="\u0141"'), body: Buffer.from(`--A\r\n${text('x')}\r\n--A--\r\n`, 'latin1') };
    expect(outcome(() => cryptographicPayload(wide, o))?.toString()).not.toContain('hp-legacy-display');
    expect(outcome(() => cryptographicPayload(wide, o))).toEqual(outcome(() => before.cryptographicPayload(wide, o)));
  });

  it('assertCanonical: accepts and refuses the same bytes, naming the same first problem', () => {
    const random = prng(7);
    const tokens = ['a', 'Z', ' ', '\r\n', '\r\n', '\r\n', '\r', '\n', '\x00', '\x7f', '\x80', '\xff', '\r\r\n', '\n\r'];
    for (let n = 0; n < 3000; n++) {
      const bytes = Buffer.from(Array.from({ length: random(12) }, () => tokens[random(tokens.length)]).join(''), 'latin1');
      expect(outcome(() => assertCanonical(bytes, 'x'))).toEqual(outcome(() => before.assertCanonical(bytes, 'x')));
    }
    const big = Buffer.from('line of text\r\n'.repeat(50_000));
    expect(outcome(() => assertCanonical(big, 'x'))).toBeUndefined();
    for (const [at, byte] of [[0, 0x0a], [big.length - 1, 0x0d], [350_001, 0x80], [350_002, 0x00], [500_000, 0x0a]] as const) {
      const bad = Buffer.from(big);
      bad[at] = byte;
      expect(outcome(() => assertCanonical(bad, 'x'))).toEqual(outcome(() => before.assertCanonical(bad, 'x')));
    }
  });

  it('multipartBody: a part given as pieces gives the same bytes as the part in one Buffer', () => {
    const headers = ['Content-Type: application/octet-stream; name="encrypted.asc"', 'Content-Disposition: inline'];
    const body = crlfText('-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n');
    const version = Buffer.from('Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n');
    const pieced = multipartBody('b', [version, entityPieces({ headers, body: [body] })]);
    expect(pieced.equals(multipartBody('b', [version, entityBytes({ headers, body })]))).toBe(true);
    expect(pieced.toString()).toBe(`--b\r\n${version}\r\n--b\r\n${headers.join('\r\n')}\r\n\r\n${body}\r\n--b--\r\n`);
  });

  it('crlfText: the same bytes for any text', () => {
    const random = prng(11);
    const tokens = ['a', ' ', '\n', '\n', '\r', '\r\n', '-----BEGIN PGP MESSAGE-----', 'é', '\u0109', '\u010a', '\u010d', '\u{1F600}', '\ud800'];
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({ length: random(10) }, () => tokens[random(tokens.length)]).join('');
      expect(crlfText(text).equals(before.crlfText(text))).toBe(true);
    }
    const armored = `-----BEGIN PGP MESSAGE-----\n\n${randomBytes(300_000).toString('base64').replace(/.{76}/g, '$&\n')}\n-----END PGP MESSAGE-----\n`;
    expect(crlfText(armored).equals(before.crlfText(armored))).toBe(true);
  });
});

// --- inputs ---

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function composedMessages(): Promise<Buffer[]> {
  const compose = new ComposeService();
  const words = 'Umsatz über Plan, naïve café — 100 % “quoted” ✓ the budget review rollout. Trailing   spaces \t and = signs =41 ='.split(' ');
  const random = prng(3);
  const paragraph = () => Array.from({ length: 40 + random(120) }, () => words[random(words.length)]).join(' ');
  const page = (images: number) =>
    [
      '<h1>Quarterly report</h1>',
      ...Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? `<pre>\n.\n${paragraph()}\n</pre>` : `<p>${paragraph()}</p>`)),
      '<table><tr><th>a</th><td>b</td></tr></table>',
      ...Array.from({ length: images }, (_, i) => `<p><img src="cid:image-${i}.png" alt="chart ${i}"></p>`),
    ].join('\n');
  const mails: Buffer[] = [];
  for (const [title, images, attachments] of [
    ['Dinner plans <tonight> & more', 0, 0],
    ['Quarterly numbers – geheim', 3, 2],
    ['Plain ASCII subject', 5, 1],
  ] as const) {
    const mail = await compose.compose({
      title,
      html: page(images),
      subjectPrefix: '[Docs]',
      from: { name: 'Alice', address: 'alice@example.com' },
      replyTo: { address: 'replies@example.com' },
      to: [{ address: 'bob@example.com' }],
      cc: [{ address: 'carol@example.com' }],
      images: Array.from({ length: images }, (_, i) => ({ filename: `image-${i}.png`, contentType: 'image/png', content: PNG })),
      attachments: [
        { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('attached text\n= not qp =41\n') },
        ...Array.from({ length: attachments }, (_, i) => ({ filename: `data-${i}.bin`, contentType: 'application/octet-stream', content: randomBytes(50_000) })),
      ],
      messageIdDomain: 'example.com',
      maxBytes: 10 * 1024 * 1024,
    });
    mails.push(mail.raw);
  }
  for (const encoding of ['quoted-printable', 'base64', undefined] as const) {
    const text = encoding ? `Grüße,\n${paragraph()}\n` : 'Just text.\n\nTwo lines.  \n';
    mails.push(await new MailComposer({ from: 'a@example.com', to: 'b@example.com', subject: 'Plain only – ü', text, newline: 'win', textEncoding: encoding }).compile().build());
  }
  return mails;
}

/** A random MIME tree, bytes not necessarily canonical: multipart levels, text parts in every transfer encoding. */
function randomMessage(random: (n: number) => number): SplitMessage {
  // One message in five also gets bytes that make the payload non-canonical: both versions must refuse it alike.
  const clean = ['a', 'b', ' ', '\t', '=', '=\r\n', '= \r\n', '=\t\r\n', '  \r\n', '\r\n', '=4', '=41', '=3D', '=c3=a9', '=C3=A9', '=E2=9C=93', '=ef=bb=bf', '=Ef=BB=bF', '=g1', '=4\r\n1', '.', '<body>', '<BODY class="x">'];
  const qpTokens = random(5) === 0 ? [...clean, '\r', '\n', '=\n', '\xe9', '\x00'] : clean;
  const text = (tokens: string[]) => Array.from({ length: random(30) }, () => tokens[random(tokens.length)]).join('');
  const leaf = (): string => {
    const types = ['text/plain; charset=utf-8', 'text/html; charset="UTF-8"', 'text/plain', 'text/html', 'text/plain; charset=iso-8859-1', 'text/plain; charset=koi8-r', 'image/png'];
    const type = types[random(10) % types.length];
    const cte = ['quoted-printable', 'quoted-printable', ' Quoted-Printable ', 'base64', '7bit', '8bit', 'x-uuencode', ''][random(8)];
    const body = cte === 'base64' ? `${Buffer.from(Array.from({ length: random(60) }, () => random(256))).toString('base64').replace(/.{20}/g, '$&\r\n')}\r\n !*\r\n` : text(qpTokens);
    const disposition = random(5) === 0 ? 'Content-Disposition: attachment; filename="a.txt"\r\n' : '';
    return `Content-Type: ${type}\r\n${cte ? `Content-Transfer-Encoding: ${cte}\r\n` : ''}${disposition}\r\n${body}`;
  };
  const node = (depth: number): string => {
    if (depth > 2 || random(3) === 0) return leaf();
    const boundary = ['b', 'b-1', '=_x', 'a b', `b${depth}`][random(5)];
    const type = ['multipart/alternative', 'multipart/mixed', 'multipart/related'][random(3)];
    const parts = Array.from({ length: random(4) }, () => node(depth + 1));
    const noise = ['', `--${boundary}x\r\n`, `text --${boundary}\r\n`, `--${boundary}  \r\n`, `--${boundary}\r\n`, `--${boundary}--junk\r\n`, `x\n--${boundary}\r\n`, `\r--${boundary}\r\n`][random(8)];
    let body = random(4) === 0 ? 'preamble\r\n' : '';
    for (const part of parts) body += `--${boundary}${random(6) === 0 ? ' \t' : ''}\r\n${part}\r\n${random(5) === 0 ? noise : ''}`;
    if (random(6) !== 0) body += `--${boundary}--${random(4) === 0 ? '\r\nepilogue' : ''}\r\n`;
    const quoted = boundary.includes(' ') || random(2) ? `"${boundary}"` : boundary;
    return `Content-Type: ${type};\r\n boundary=${quoted}\r\n\r\n${body}`;
  };
  const entity = node(0);
  const sep = entity.indexOf('\r\n\r\n');
  const contentFields: HeaderField[] = entity
    .slice(0, sep)
    .split(/\r\n(?![ \t])/)
    .map((raw) => ({ name: raw.slice(0, raw.indexOf(':')), raw }));
  const subjects = ['Hello', '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'a <b> & "c"', '=?UTF-8?B?8J+YgA==?='];
  const fields: HeaderField[] = [
    { name: 'From', raw: 'From: a@example.com' },
    ...(random(8) ? [{ name: 'Subject', raw: `Subject: ${subjects[random(subjects.length)]}` }] : []),
    { name: 'MIME-Version', raw: 'MIME-Version: 1.0' },
    ...(random(8) ? contentFields : []),
  ];
  return { fields, body: Buffer.from(entity.slice(sep + 4), 'latin1') };
}

function outcome(run: () => Buffer | void): string | Buffer | undefined {
  try {
    return run() ?? undefined;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}

// --- the implementation before (commit d49768e), unchanged but for lint: the reference ---

const before = (() => {
  const CRLF = '\r\n';
  const CRLF_CRLF = Buffer.from('\r\n\r\n');
  const PROTECTED_FIELDS: readonly string[] = ['from', 'to', 'cc', 'reply-to', 'subject', 'date', 'message-id', 'in-reply-to', 'references'];
  interface MimeEntity {
    headers: string[];
    body: Buffer;
  }

  function splitMessage(raw: Buffer): SplitMessage {
    const end = raw.indexOf(CRLF_CRLF);
    if (end < 0) throw new Error('the message has no header/body separator');
    const head = raw.subarray(0, end);
    assertCanonical(raw, 'message');
    return { fields: parseFields(head.toString('latin1')), body: raw.subarray(end + 4) };
  }

  function parseFields(head: string): HeaderField[] {
    const fields: HeaderField[] = [];
    for (const line of head.split(CRLF)) {
      if (/^[ \t]/.test(line) && fields.length) {
        fields[fields.length - 1].raw += CRLF + line;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error('the message has a malformed header line');
      fields.push({ name: line.slice(0, colon).trim(), raw: line });
    }
    return fields;
  }

  function fieldValue(field: HeaderField): string {
    return field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n(?=[ \t])/g, '').trim();
  }

  const lower = (f: HeaderField) => f.name.toLowerCase();
  const isContentField = (f: HeaderField) => lower(f).startsWith('content-');

  function entityBytes(entity: MimeEntity): Buffer {
    return Buffer.concat([Buffer.from(entity.headers.map((h) => h + CRLF).join('') + CRLF, 'latin1'), entity.body]);
  }

  function crlfText(text: string): Buffer {
    const crlf = text.replace(/\r?\n/g, CRLF);
    return Buffer.from(crlf.endsWith(CRLF) ? crlf : crlf + CRLF, 'latin1');
  }

  function assertCanonical(bytes: Buffer, what: string): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b >= 0x80) throw new Error(`the ${what} has an 8-bit byte; only 7-bit MIME can be signed or encrypted`);
      if (b === 0x00) throw new Error(`the ${what} has a NUL byte`);
      if (b === 0x0d && bytes[i + 1] !== 0x0a) throw new Error(`the ${what} has a bare CR`);
      if (b === 0x0a && bytes[i - 1] !== 0x0d) throw new Error(`the ${what} has a bare LF`);
    }
  }

  function cryptographicPayload(msg: SplitMessage, options: PayloadOptions): Buffer {
    let content: MimeEntity = { headers: msg.fields.filter(isContentField).map((f) => f.raw), body: msg.body };
    if (!content.headers.some((h) => /^content-type:/i.test(h))) content.headers.unshift('Content-Type: text/plain; charset=us-ascii');

    if (options.hp === 'cipher') {
      const subject = msg.fields.find((f) => lower(f) === 'subject');
      if (subject) content = withLegacyDisplay(content, `Subject: ${decodeWords(fieldValue(subject))}`);
    }

    const protectedFields = msg.fields.filter((f) => PROTECTED_FIELDS.includes(lower(f))).map((f) => f.raw);
    const hpOuter = options.hp === 'cipher' ? (options.outer ?? []).filter((f) => PROTECTED_FIELDS.includes(lower(f))).map((f) => `HP-Outer: ${f.raw}`) : [];
    const headers = content.headers.map((h) => (/^content-type:/i.test(h) ? withParams(h, `hp="${options.hp}"; protected-headers="v1"`) : h));
    const payload = entityBytes({ headers: [...headers, ...protectedFields, ...hpOuter], body: content.body });
    assertCanonical(payload, 'payload');
    return payload;
  }

  function withParams(field: string, params: string): string {
    return `${field.replace(/[\s;]+$/, '')};${CRLF} ${params}`;
  }

  function withLegacyDisplay(entity: MimeEntity, line: string): MimeEntity {
    const type = contentTypeOf(entity.headers);
    if (type.value.startsWith('multipart/')) {
      const boundary = type.params.boundary;
      if (!boundary) return entity;
      const ranges = partRanges(entity.body, boundary);
      const chosen = type.value === 'multipart/alternative' ? ranges.map((_, i) => i) : ranges.length ? [0] : [];
      let body = entity.body;
      for (const i of [...chosen].reverse()) {
        const [start, end] = ranges[i];
        const part = body.subarray(start, end);
        const sep = part.indexOf(CRLF_CRLF);
        const headers = sep < 0 ? [] : parseFields(part.subarray(0, sep).toString('latin1')).map((f) => f.raw);
        const inner: MimeEntity = { headers, body: sep < 0 ? Buffer.alloc(0) : part.subarray(sep + 4) };
        const changed = withLegacyDisplay(inner, line);
        if (changed !== inner) body = Buffer.concat([body.subarray(0, start), entityBytes(changed), body.subarray(end)]);
      }
      return body === entity.body ? entity : { headers: entity.headers, body };
    }
    if (type.value !== 'text/plain' && type.value !== 'text/html') return entity;
    const disposition = entity.headers.find((h) => /^content-disposition:/i.test(h));
    if (disposition && /^content-disposition:\s*attachment/i.test(disposition.replace(/\r\n/g, ''))) return entity;
    const charset = (type.params.charset ?? 'us-ascii').toLowerCase();
    const text = decodeBody(entity);
    if (text === null) return entity;
    if (charset !== 'utf-8' && !(/^[\x00-\x7f]*$/.test(line) && (charset === 'us-ascii' || charset === 'iso-8859-1'))) return entity;

    const decoded = text.toString(charset === 'utf-8' ? 'utf8' : 'latin1');
    let shown: string;
    if (type.value === 'text/plain') {
      shown = `${line}${CRLF}${CRLF}${decoded}`;
    } else {
      const element = `<div class="header-protection-legacy-display"><pre>${escapeHtml(line)}</pre></div>`;
      const body = /<body\b[^>]*>/i.exec(decoded);
      shown = body ? decoded.slice(0, body.index + body[0].length) + element + decoded.slice(body.index + body[0].length) : element + decoded;
    }
    const encoded = qp.wrap(qp.encode(Buffer.from(shown, charset === 'utf-8' ? 'utf8' : 'latin1')), 76).replace(/\r?\n/g, CRLF);
    const headers = entity.headers
      .filter((h) => !/^content-transfer-encoding:/i.test(h))
      .map((h) => (/^content-type:/i.test(h) ? withParams(h, 'hp-legacy-display="1"') : h));
    headers.push('Content-Transfer-Encoding: quoted-printable');
    return { headers, body: Buffer.from(encoded.endsWith(CRLF) ? encoded : encoded + CRLF, 'latin1') };
  }

  function contentTypeOf(headers: string[]): { value: string; params: Record<string, string> } {
    const field = headers.find((h) => /^content-type:/i.test(h));
    if (!field) return { value: 'text/plain', params: {} };
    const parsed = mimeFuncs.parseHeaderValue(field.slice(field.indexOf(':') + 1).replace(/\r\n(?=[ \t])/g, ''));
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed.params ?? {})) params[k.toLowerCase()] = String(v);
    return { value: String(parsed.value).trim().toLowerCase(), params };
  }

  function decodeBody(entity: MimeEntity): Buffer | null {
    const field = entity.headers.find((h) => /^content-transfer-encoding:/i.test(h));
    const cte = field ? field.slice(field.indexOf(':') + 1).trim().toLowerCase() : '7bit';
    const body = entity.body.toString('latin1');
    if (cte === '7bit' || cte === '8bit') return entity.body;
    if (cte === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    if (cte === 'quoted-printable') {
      const bytes: number[] = [];
      const text = body.replace(/[ \t]+(?=\r\n)/g, '').replace(/=\r\n/g, '');
      for (let i = 0; i < text.length; i++) {
        const hex = text[i] === '=' ? text.slice(i + 1, i + 3) : '';
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
        } else {
          bytes.push(text.charCodeAt(i));
        }
      }
      return Buffer.from(bytes);
    }
    return null;
  }

  function partRanges(body: Buffer, boundary: string): [number, number][] {
    const text = body.toString('latin1');
    const delimiter = `--${boundary}`;
    const ranges: [number, number][] = [];
    let start = -1;
    let pos = 0;
    while (pos <= text.length) {
      const at = text.indexOf(delimiter, pos);
      if (at < 0) break;
      const atLineStart = at === 0 || text.slice(at - 2, at) === CRLF;
      const lineEnd = text.indexOf(CRLF, at);
      const rest = text.slice(at + delimiter.length, lineEnd < 0 ? text.length : lineEnd);
      if (!atLineStart || !/^(--)?[ \t]*$/.test(rest)) {
        pos = at + delimiter.length;
        continue;
      }
      if (start >= 0) ranges.push([start, at === 0 ? 0 : at - 2]);
      if (rest.startsWith('--') || lineEnd < 0) break;
      start = lineEnd + 2;
      pos = start;
    }
    return ranges;
  }

  function escapeHtml(value: string): string {
    return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  return { splitMessage, crlfText, assertCanonical, cryptographicPayload };
})();
