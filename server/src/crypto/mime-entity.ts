import { isAscii } from 'node:buffer';
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
const CRLF_BYTES = Buffer.from(CRLF);
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CR = 0x0d;
const LF = 0x0a;

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

/**
 * A multipart body: each part after its delimiter, the closing delimiter last (RFC 2046 section 5.1.1). A part may be
 * given as pieces (entityPieces), which are copied once, here.
 */
export function multipartBody(boundary: string, parts: (Buffer | Buffer[])[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) chunks.push(Buffer.from(`--${boundary}${CRLF}`, 'latin1'), ...(Buffer.isBuffer(part) ? [part] : part), Buffer.from(CRLF, 'latin1'));
  chunks.push(Buffer.from(`--${boundary}--${CRLF}`, 'latin1'));
  return Buffer.concat(chunks);
}

/** Armored OpenPGP text with CRLF line endings, ending in CRLF. */
export function crlfText(text: string): Buffer {
  // ASCII (armor always is): LF → CRLF on the bytes, with one scan for LFs and one copy.
  if (Buffer.byteLength(text, 'utf8') === text.length) return crlfBytes(Buffer.from(text, 'latin1'));
  const crlf = text.replace(/\r?\n/g, CRLF);
  return Buffer.from(crlf.endsWith(CRLF) ? crlf : crlf + CRLF, 'latin1');
}

/**
 * As crlfText for text already in bytes: a CR goes before every LF that has none, and CRLF is appended unless the
 * bytes end with LF. Returns `bytes` itself when nothing changes.
 */
function crlfBytes(bytes: Buffer): Buffer {
  const bare: number[] = [];
  for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) if (i === 0 || bytes[i - 1] !== CR) bare.push(i);
  const endsWithLf = bytes.length > 0 && bytes[bytes.length - 1] === LF;
  if (!bare.length && endsWithLf) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + bare.length + (endsWithLf ? 0 : 2));
  let o = 0;
  let from = 0;
  for (const lf of bare) {
    o += bytes.copy(out, o, from, lf);
    out[o++] = CR;
    from = lf;
  }
  o += bytes.copy(out, o, from);
  if (!endsWithLf) {
    out[o++] = CR;
    out[o++] = LF;
  }
  return out;
}

/**
 * Signed and encrypted bytes must arrive exactly as they were hashed: 7-bit, CRLF line endings only
 * (RFC 3156 section 3, RFC 8551 section 3.1.1).
 */
export function assertCanonical(bytes: Buffer, what: string): void {
  if (isCanonical(bytes)) return;
  // Something is wrong: walk the bytes to name the first problem.
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b >= 0x80) throw new Error(`the ${what} has an 8-bit byte; only 7-bit MIME can be signed or encrypted`);
    if (b === 0x00) throw new Error(`the ${what} has a NUL byte`);
    if (b === 0x0d && bytes[i + 1] !== 0x0a) throw new Error(`the ${what} has a bare CR`);
    if (b === 0x0a && bytes[i - 1] !== 0x0d) throw new Error(`the ${what} has a bare LF`);
  }
}

/** 7-bit, no NUL, every CR followed by LF and every LF preceded by CR; native scans instead of a loop per byte. */
function isCanonical(bytes: Buffer): boolean {
  if (!isAscii(bytes) || bytes.indexOf(0) !== -1) return false;
  for (let i = bytes.indexOf(CR); i !== -1; i = bytes.indexOf(CR, i + 2)) if (bytes[i + 1] !== LF) return false;
  for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) if (i === 0 || bytes[i - 1] !== CR) return false;
  return true;
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
  let content: PiecedEntity = { headers: msg.fields.filter(isContentField).map((f) => f.raw), body: [msg.body] };
  if (!content.headers.some((h) => /^content-type:/i.test(h))) content.headers.unshift('Content-Type: text/plain; charset=us-ascii');

  if (options.hp === 'cipher') {
    const subject = msg.fields.find((f) => lower(f) === 'subject');
    if (subject) content = withLegacyDisplay({ headers: content.headers, body: msg.body }, `Subject: ${decodeWords(fieldValue(subject))}`) ?? content;
  }

  const protectedFields = msg.fields.filter((f) => PROTECTED_FIELDS.includes(lower(f))).map((f) => f.raw);
  const hpOuter = options.hp === 'cipher' ? (options.outer ?? []).filter((f) => PROTECTED_FIELDS.includes(lower(f))).map((f) => `HP-Outer: ${f.raw}`) : [];
  const headers = content.headers.map((h) => (/^content-type:/i.test(h) ? withParams(h, `hp="${options.hp}"; protected-headers="v1"`) : h));
  // One copy of the whole message: the changed parts and the unchanged stretches between them are concatenated once.
  const payload = Buffer.concat(entityPieces({ headers: [...headers, ...protectedFields, ...hpOuter], body: content.body }));
  assertCanonical(payload, 'payload');
  return payload;
}

/** An entity whose body is kept as pieces (slices of the message and new parts), to be concatenated once at the end. */
export interface PiecedEntity {
  headers: string[];
  body: Buffer[];
}

/** The pieces of entityBytes(entity): the header section, an empty line, the body. */
export function entityPieces(entity: PiecedEntity): Buffer[] {
  return [Buffer.from(entity.headers.map((h) => h + CRLF).join('') + CRLF, 'latin1'), ...entity.body];
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

/** The entity with the legacy display element added to its main text part(s); null when nothing changes. */
function withLegacyDisplay(entity: MimeEntity, line: string): PiecedEntity | null {
  const type = contentTypeOf(entity.headers);
  if (type.value.startsWith('multipart/')) {
    const boundary = type.params.boundary;
    if (!boundary) return null;
    const ranges = partRanges(entity.body, boundary);
    const chosen = type.value === 'multipart/alternative' ? ranges.map((_, i) => i) : ranges.length ? [0] : [];
    // The body as pieces: the stretches between the chosen parts stay slices of the message, not copies.
    const body = entity.body;
    const pieces: Buffer[] = [];
    let from = 0;
    for (const i of chosen) {
      const [start, end] = ranges[i];
      const part = body.subarray(start, end);
      const sep = part.indexOf(CRLF_CRLF);
      const headers = sep < 0 ? [] : parseFields(part.subarray(0, sep).toString('latin1')).map((f) => f.raw);
      const changed = withLegacyDisplay({ headers, body: sep < 0 ? Buffer.alloc(0) : part.subarray(sep + 4) }, line);
      if (!changed) continue;
      pieces.push(body.subarray(from, start), ...entityPieces(changed));
      from = end;
    }
    if (!pieces.length) return null;
    pieces.push(body.subarray(from));
    return { headers: entity.headers, body: pieces };
  }
  if (type.value !== 'text/plain' && type.value !== 'text/html') return null;
  const disposition = entity.headers.find((h) => /^content-disposition:/i.test(h));
  if (disposition && /^content-disposition:\s*attachment/i.test(disposition.replace(/\r\n/g, ''))) return null;
  const charset = (type.params.charset ?? 'us-ascii').toLowerCase();
  const text = decodeBody(entity);
  if (text === null) return null;
  if (charset !== 'utf-8' && !(/^[\x00-\x7f]*$/.test(line) && (charset === 'us-ascii' || charset === 'iso-8859-1'))) return null;

  const decoded = text.toString(charset === 'utf-8' ? 'utf8' : 'latin1');
  let shown: string;
  if (type.value === 'text/plain') {
    shown = `${line}${CRLF}${CRLF}${decoded}`;
  } else {
    const element = `<div class="header-protection-legacy-display"><pre>${escapeHtml(line)}</pre></div>`;
    const body = /<body\b[^>]*>/i.exec(decoded);
    shown = body ? decoded.slice(0, body.index + body[0].length) + element + decoded.slice(body.index + body[0].length) : element + decoded;
  }
  const encoded = qp.wrap(qp.encode(Buffer.from(shown, charset === 'utf-8' ? 'utf8' : 'latin1')), 76);
  const headers = entity.headers
    .filter((h) => !/^content-transfer-encoding:/i.test(h))
    .map((h) => (/^content-type:/i.test(h) ? withParams(h, 'hp-legacy-display="1"') : h));
  headers.push('Content-Transfer-Encoding: quoted-printable');
  // LF → CRLF, and a final CRLF.
  return { headers, body: [crlfText(encoded)] };
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
  if (cte === '7bit' || cte === '8bit') return entity.body;
  if (cte === 'base64') return Buffer.from(entity.body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(entity.body);
  return null;
}

/**
 * Quoted-printable to bytes, leniently: whitespace before each CRLF is dropped, then every soft line break ("=" CRLF),
 * then each "=" with two hex digits becomes its byte; anything else (a lone "=", bare CR or LF, 8-bit bytes) stays.
 */
function decodeQuotedPrintable(body: Buffer): Buffer {
  // Whitespace before CRLF and soft line breaks: copy what is between them.
  const pieces: Buffer[] = [];
  let from = 0;
  for (let crlf = body.indexOf(CRLF_BYTES); crlf !== -1; crlf = body.indexOf(CRLF_BYTES, crlf + 2)) {
    let end = crlf;
    while (end > from && (body[end - 1] === 0x20 || body[end - 1] === 0x09)) end--;
    if (end > from && body[end - 1] === 0x3d) {
      pieces.push(body.subarray(from, end - 1));
    } else if (end === crlf) {
      pieces.push(body.subarray(from, crlf + 2));
    } else {
      pieces.push(body.subarray(from, end), CRLF_BYTES);
    }
    from = crlf + 2;
  }
  pieces.push(body.subarray(from));
  const text = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);

  // =XX escapes.
  const out = Buffer.allocUnsafe(text.length);
  let o = 0;
  from = 0;
  for (let eq = text.indexOf(0x3d); eq !== -1; eq = text.indexOf(0x3d, from)) {
    o += text.copy(out, o, from, eq);
    const high = eq + 2 < text.length ? hexValue(text[eq + 1]) : -1;
    const low = high < 0 ? -1 : hexValue(text[eq + 2]);
    if (low < 0) {
      out[o++] = 0x3d;
      from = eq + 1;
    } else {
      out[o++] = high * 16 + low;
      from = eq + 3;
    }
  }
  o += text.copy(out, o, from);
  return out.subarray(0, o);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Byte ranges [start, end) of each part's content, between its delimiter line and the CRLF before the next one. */
function partRanges(body: Buffer, boundary: string): [number, number][] {
  const delimiter = `--${boundary}`;
  // A character beyond latin1 cannot occur in the body's bytes.
  if (/[^\x00-\xff]/.test(delimiter)) return [];
  const needle = Buffer.from(delimiter, 'latin1');
  const ranges: [number, number][] = [];
  let start = -1;
  let pos = 0;
  while (pos <= body.length) {
    const at = body.indexOf(needle, pos);
    if (at < 0) break;
    const atLineStart = at === 0 || (at >= 2 && body[at - 2] === CR && body[at - 1] === LF);
    const lineEnd = body.indexOf(CRLF_BYTES, at);
    const restStart = at + needle.length;
    const restEnd = lineEnd < 0 ? body.length : lineEnd;
    const closing = restEnd - restStart >= 2 && body[restStart] === 0x2d && body[restStart + 1] === 0x2d;
    if (!atLineStart || !onlyBlanks(body, closing ? restStart + 2 : restStart, restEnd)) {
      pos = at + needle.length;
      continue;
    }
    if (start >= 0) ranges.push([start, at === 0 ? 0 : at - 2]);
    if (closing || lineEnd < 0) break;
    start = lineEnd + 2;
    pos = start;
  }
  return ranges;
}

/** Whether bytes [from, to) are all spaces and tabs (true when the range is empty). */
function onlyBlanks(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0x20 && bytes[i] !== 0x09) return false;
  return true;
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
