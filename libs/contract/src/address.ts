/**
 * Strict mailbox parsing. One field holds exactly one mailbox: `addr@example.com`, `Ann <ann@example.com>` or
 * `"Lee, Ann" <ann@example.com>`. Lists, groups, comments, quoted local parts, source routes and encoded words are
 * refused rather than guessed at, so that what a person reads is what the SMTP envelope gets.
 */
export interface Mailbox {
  name?: string;
  /** ASCII form: the domain lower-cased and IDNA-encoded (punycode). */
  address: string;
}

export type ParseResult = { ok: true; mailbox: Mailbox } | { ok: false; reason: string };

/** CR, LF, NUL, other C0/C1 controls, DEL, U+2028/U+2029 (line/paragraph separators), bidi overrides. */
const UNSAFE_HEADER_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export function headerSafetyProblem(value: string): string | null {
  const m = UNSAFE_HEADER_CHARS.exec(value);
  if (!m) return null;
  const cp = m[0].codePointAt(0)!;
  const names: Record<number, string> = { 0x0d: 'a carriage return', 0x0a: 'a line feed', 0x00: 'a NUL byte', 0x2028: 'a line separator (U+2028)', 0x2029: 'a paragraph separator (U+2029)', 0x85: 'a next-line character (U+0085)' };
  return `contains ${names[cp] ?? `the control or direction character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`}`;
}

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const LOCAL_PART = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*$`);
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** IDNA-encode a domain with the platform's URL parser (Node and browsers); null when it is not a valid host name. */
export function toAsciiDomain(domain: string): string | null {
  if (!domain || domain.length > 253 || /[\s/\\?#@%:[\]]/.test(domain)) return null;
  let host: string;
  try {
    host = new URL(`http://${domain}/`).hostname;
  } catch {
    return null;
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  const labels = host.split('.');
  if (labels.length < 2 || host.length > 253) return null;
  if (!labels.every((l) => LABEL.test(l))) return null;
  // Top-level domain: letters, or an IDNA label. Refuses dotted-quad and decimal/hex IP spellings.
  const tld = labels[labels.length - 1];
  if (!/^[a-z]{2,63}$/.test(tld) && !/^xn--[a-z0-9-]+$/.test(tld)) return null;
  return host;
}

export function parseAddress(addr: string): ParseResult {
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return { ok: false, reason: 'is not an email address (expected name@domain)' };
  const local = addr.slice(0, at);
  const domain = addr.slice(at + 1);
  if (local.length > 64) return { ok: false, reason: 'has a local part longer than 64 characters' };
  if (!LOCAL_PART.test(local)) {
    return { ok: false, reason: `has a local part "${local}" with characters that are not allowed` };
  }
  const ascii = toAsciiDomain(domain);
  if (!ascii) return { ok: false, reason: `has a domain "${domain}" that is not a valid host name` };
  return { ok: true, mailbox: { address: `${local}@${ascii}` } };
}

export function parseMailbox(input: string): ParseResult {
  if (typeof input !== 'string') return { ok: false, reason: 'must be a string' };
  const unsafe = headerSafetyProblem(input);
  if (unsafe) return { ok: false, reason: unsafe };
  const value = input.trim();
  if (!value) return { ok: false, reason: 'is empty' };
  if (value.length > 400) return { ok: false, reason: 'is longer than 400 characters' };
  if (value.includes('=?')) return { ok: false, reason: 'contains an encoded word (=?...?=); write the name as plain text' };

  const angle = /^(.*?)\s*<([^<>]*)>$/s.exec(value);
  if (!angle) {
    if (/[<>()"\s,;:\\[\]]/.test(value)) {
      return { ok: false, reason: 'must be exactly one address such as ann@example.com or Ann <ann@example.com>' };
    }
    return parseAddress(value);
  }
  const [, rawName, addr] = angle;
  const parsed = parseAddress(addr.trim());
  if (!parsed.ok) return parsed;
  let name = rawName.trim();
  if (name.startsWith('"')) {
    const q = /^"((?:[^"\\]|\\["\\])*)"$/.exec(name);
    if (!q) return { ok: false, reason: 'has a display name with an unbalanced quote' };
    name = q[1].replace(/\\(["\\])/g, '$1');
  } else if (/[<>()"@,;:\\[\]]/.test(name)) {
    return { ok: false, reason: 'has a display name with special characters; put the name in double quotes' };
  }
  if (name.length > 200) return { ok: false, reason: 'has a display name longer than 200 characters' };
  return { ok: true, mailbox: name ? { name, address: parsed.mailbox.address } : parsed.mailbox };
}

export function formatMailbox(m: Mailbox): string {
  if (!m.name) return m.address;
  return `"${m.name.replace(/(["\\])/g, '\\$1')}" <${m.address}>`;
}
