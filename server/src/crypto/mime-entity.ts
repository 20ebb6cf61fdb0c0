import { randomBytes } from 'node:crypto';
import { headerSafetyProblem } from '@mailpage/contract';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import * as qp from 'nodemailer/lib/qp';
import { decodeWords } from 'postal-mime';
import { badRequest } from '../common/domain-error';

// Everything here works on bytes: a message is split at CRLF CRLF and header fields are ASCII text, but a body is
// never decoded to a string and re-encoded, except a main text part that gets the legacy display element
// (RFC 9788 section 4.5.3), which is decoded and re-encoded as quoted-printable on purpose.

const CRLF = '\r\n';
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** One header field as it appears in the message: folding kept, final CRLF left off. ASCII only. */
export interface HeaderField {
  name: string;
  raw: string;
}

/** A MIME entity: header fields (each complete, folded with CRLF + space where long) and the body bytes. */
export interface MimeEntity {
  headers: string[];
  body: Buffer;
}

export interface SplitMessage {
  fields: HeaderField[];
  body: Buffer;
}

/**
 * The fields copied into the Cryptographic Payload (RFC 9788 section 2.1) and, for an encrypted message, announced
 * again with HP-Outer. Bcc is never among them: a bcc recipient must not be named in a copy anyone else can read.
 */
export const PROTECTED_FIELDS: readonly string[] = ['from', 'to', 'cc', 'reply-to', 'subject', 'date', 'message-id', 'in-reply-to', 'references'];

/** The outer Subject of an encrypted message unless the caller sets another (RFC 9788 hcp_baseline). */
export const DEFAULT_OUTER_SUBJECT = '[...]';

/** Splits an RFC 5322 message with CRLF line endings into its header fields and body. */
export function splitMessage(raw: Buffer): SplitMessage {
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

/** The unfolded value of a field, without the name and colon. */
export function fieldValue(field: HeaderField): string {
  return field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n(?=[ \t])/g, '').trim();
}

const lower = (f: HeaderField) => f.name.toLowerCase();
const isContentField = (f: HeaderField) => lower(f).startsWith('content-');

/** Bytes of an entity: header fields, an empty line, the body. */
export function entityBytes(entity: MimeEntity): Buffer {
  return Buffer.concat([Buffer.from(entity.headers.map((h) => h + CRLF).join('') + CRLF, 'latin1'), entity.body]);
}

export function newBoundary(): string {
  return `=_mailpage_${randomBytes(16).toString('hex')}`;
}

/** Base64 in lines of 76 characters, each ended by CRLF (RFC 2045 section 6.8). */
export function base64Lines(data: Uint8Array): Buffer {
  const b64 = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.from(lines.join(CRLF) + CRLF, 'latin1');
}

/** A multipart body: each part after its delimiter, the closing delimiter last (RFC 2046 section 5.1.1). */
export function multipartBody(boundary: string, parts: Buffer[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) chunks.push(Buffer.from(`--${boundary}${CRLF}`, 'latin1'), part, Buffer.from(CRLF, 'latin1'));
  chunks.push(Buffer.from(`--${boundary}--${CRLF}`, 'latin1'));
  return Buffer.concat(chunks);
}

/** Armored OpenPGP text with CRLF line endings, ending in CRLF. */
export function crlfText(text: string): Buffer {
  const crlf = text.replace(/\r?\n/g, CRLF);
  return Buffer.from(crlf.endsWith(CRLF) ? crlf : crlf + CRLF, 'latin1');
}

/**
 * Signed and encrypted bytes must arrive exactly as they were hashed: 7-bit, CRLF line endings only
 * (RFC 3156 section 3, RFC 8551 section 3.1.1).
 */
export function assertCanonical(bytes: Buffer, what: string): void {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b >= 0x80) throw new Error(`the ${what} has an 8-bit byte; only 7-bit MIME can be signed or encrypted`);
    if (b === 0x00) throw new Error(`the ${what} has a NUL byte`);
    if (b === 0x0d && bytes[i + 1] !== 0x0a) throw new Error(`the ${what} has a bare CR`);
    if (b === 0x0a && bytes[i - 1] !== 0x0d) throw new Error(`the ${what} has a bare LF`);
  }
}

export interface PayloadOptions {
  /** "cipher" when the payload gets encrypted, "clear" when it is only signed (RFC 9788 section 2.1.1). */
  hp: 'cipher' | 'clear';
  /** The header section the outside of the message will carry; announced with HP-Outer when hp is "cipher". */
  outer?: HeaderField[];
}

/**
 * The Cryptographic Payload (RFC 9788): the body of the message with its Content-* fields, plus copies of the
 * protected header fields. Encrypted: one HP-Outer line per outer field and a legacy display element in the main
 * text parts, so a reader without header protection still sees the real subject.
 */
export function cryptographicPayload(msg: SplitMessage, options: PayloadOptions): Buffer {
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

/**
 * The header section outside the cryptographic layer: every field of the original message except Content-*,
 * MIME-Version and Bcc, with the Subject replaced when one is given.
 */
export function outerFields(msg: SplitMessage, subject?: string): HeaderField[] {
  const kept = msg.fields.filter((f) => !isContentField(f) && lower(f) !== 'mime-version' && lower(f) !== 'bcc');
  if (subject === undefined) return kept;
  const replaced = subjectField(subject);
  return kept.map((f) => (lower(f) === 'subject' ? replaced : f));
}

/** A whole message: the outer fields, MIME-Version, and the entity that carries the protection. */
export function assembleMessage(outer: HeaderField[], entity: MimeEntity): Buffer {
  const raw = entityBytes({ headers: [...outer.map((f) => f.raw), 'MIME-Version: 1.0', ...entity.headers], body: entity.body });
  assertCanonical(raw, 'message');
  return raw;
}

function subjectField(subject: string): HeaderField {
  const value = subject.trim();
  const problem = headerSafetyProblem(value);
  if (!value || value.length > 200 || problem) {
    throw badRequest(`The placeholder subject for encrypted mail ${problem ?? 'must be 1 to 200 characters'}.`, { field: 'outerSubject' });
  }
  const encoded = /^[\x20-\x7e]*$/.test(value) ? value : mimeFuncs.encodeWords(value, 'Q', 52);
  return { name: 'Subject', raw: mimeFuncs.foldLines(`Subject: ${encoded}`, 76) };
}

/** Appends parameters to a Content-Type field, on a folded line of their own so nothing before changes. */
function withParams(field: string, params: string): string {
  return `${field.replace(/[\s;]+$/, '')};${CRLF} ${params}`;
}

// --- legacy display element (RFC 9788 section 4.5.3) ---

function withLegacyDisplay(entity: MimeEntity, line: string): MimeEntity {
  const type = contentTypeOf(entity.headers);
  if (type.value.startsWith('multipart/')) {
    const boundary = type.params.boundary;
    if (!boundary) return entity;
    const ranges = partRanges(entity.body, boundary);
    const chosen = type.value === 'multipart/alternative' ? ranges.map((_, i) => i) : ranges.length ? [0] : [];
    let body = entity.body;
    // Replace from the last part backwards so that earlier offsets stay valid.
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

/** Byte ranges [start, end) of each part's content, between its delimiter line and the CRLF before the next one. */
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
