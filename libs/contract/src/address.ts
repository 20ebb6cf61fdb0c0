/**
 * Strict mailbox parsing. One field holds exactly one mailbox: `addr@example.com`, `Ann <ann@example.com>` or
 * `"Lee, Ann" <ann@example.com>`. Lists, groups, comments, quoted local parts, source routes and encoded words are
 * refused rather than guessed at, so that what a person reads is what the SMTP envelope gets.
 *
 * Internationalised domains are accepted and sent as punycode when every label passes the look-alike rule in
 * `domainProblem` (README, "Addresses"): one script per label, no invisible characters, and the IDNA result must
 * round-trip to what was typed.
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
  return `contains ${names[cp] ?? `the control or direction character ${codePoint(cp)}`}`;
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

// ---------------------------------------------------------------------------------------------------------------
// Look-alike domains (UTS #39 "Unicode Security Mechanisms", reduced to a rule a person can check by hand).

/** Zero-width and other invisible characters: format controls (Cf, e.g. U+200B-U+200F, U+FEFF, U+00AD) and the rest of Default_Ignorable_Code_Point. */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
/** What a label may hold: letters, combining marks, decimal digits and the hyphen. */
const LABEL_CHAR = /^[\p{L}\p{M}\p{Nd}-]$/u;

/** ISO 15924 codes of the Unicode scripts (Unicode 16). An engine that lacks a newer one skips it. */
const SCRIPT_CODES =
  'Latn Cyrl Grek Armn Hebr Arab Geor Hani Hira Kana Hang Bopo Thai Deva Beng Guru Gujr Orya Taml Telu Knda Mlym Sinh Tibt Laoo Mymr Khmr Ethi Cher Cans Mong Thaa Syrc Nkoo Tfng Vaii Yiii ' +
  'Adlm Aghb Ahom Armi Avst Bali Bamu Bass Batk Bhks Brah Brai Bugi Buhd Cakm Cari Cham Chrs Copt Cpmn Cprt Diak Dogr Dsrt Dupl Egyp Elba Elym Gara Glag Gong Gonm Goth Gran Gukh Hano Hatr ' +
  'Hluw Hmng Hmnp Hung Ital Java Kali Kawi Khar Khoj Kits Krai Kthi Lana Lepc Limb Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Modi Mroo Mtei Mult Nagm Nand Narb ' +
  'Nbat Newa Nshu Ogam Olck Onao Orkh Osge Osma Ougr Palm Pauc Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr Samr Sarb Saur Sgnw Shaw Shrd Sidd Sind Sogd Sogo Sora Soyo Sund Sunu Sylo ' +
  'Tagb Takr Tale Talu Tang Tavt Tayo Tglg Tirh Tnsa Todr Tols Toto Tutg Ugar Vith Wara Wcho Xpeo Xsux Yezi Zanb';

const SCRIPT_NAMES: Record<string, string> = { Latn: 'Latin', Cyrl: 'Cyrillic', Grek: 'Greek', Armn: 'Armenian', Hebr: 'Hebrew', Arab: 'Arabic', Geor: 'Georgian', Hani: 'Han', Hira: 'Hiragana', Kana: 'Katakana', Hang: 'Hangul', Bopo: 'Bopomofo', Thai: 'Thai', Deva: 'Devanagari', Cher: 'Cherokee' };

let scriptTests: { code: string; re: RegExp }[] | undefined;
const NEUTRAL = /[\p{sc=Zyyy}\p{sc=Zinh}]/u;

/** The script of one letter or mark (ISO 15924 code); null for Common and Inherited characters (digits, hyphen, combining marks). */
function scriptOf(ch: string): string | null {
  if (NEUTRAL.test(ch)) return null;
  scriptTests ??= SCRIPT_CODES.split(' ').flatMap((code) => {
    try {
      return [{ code, re: new RegExp(`^\\p{sc=${code}}$`, 'u') }];
    } catch {
      return [];
    }
  });
  return scriptTests.find((s) => s.re.test(ch))?.code ?? 'Zzzz';
}

/** Scripts that are written together (UTS #39 "Highly Restrictive"): Japanese, Korean, Chinese with Bopomofo. */
const SCRIPT_SETS = [new Set(['Hani', 'Hira', 'Kana']), new Set(['Hani', 'Hang']), new Set(['Hani', 'Bopo'])];

/**
 * Letters of other scripts that look like a lower-case Latin letter in common fonts, with the letter they pass for:
 * a label written only in these (Cyrillic "аррӏе") is a whole-script look-alike of a Latin name. Cyrillic from
 * Chromium's IDN spoof checker; Greek and Armenian from the same idea.
 */
const LATIN_TWINS: Record<string, string> = {
  // Cyrillic
  а: 'a', ы: 'bl', с: 'c', ԁ: 'd', е: 'e', ԍ: 'g', һ: 'h', і: 'i', ю: 'io', ј: 'j', ӏ: 'l', о: 'o', р: 'p', ԛ: 'q', ѕ: 's', ԝ: 'w', х: 'x', у: 'y', ъ: 'b', ь: 'b', ҽ: 'e', п: 'n', г: 'r', ѵ: 'v', ѡ: 'w', ү: 'y',
  // Greek
  α: 'a', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', υ: 'u', χ: 'x',
  // Armenian
  օ: 'o', ո: 'n', ս: 'u', հ: 'h', զ: 'q',
};

const codePoint = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
const describeChar = (ch: string) => `"${ch}" (${codePoint(ch.codePointAt(0)!)})`;
const scriptName = (code: string) => SCRIPT_NAMES[code] ?? (code === 'Zzzz' ? 'an unknown script' : `the ${code} script`);

export type DomainResult = { ok: true; ascii: string; unicode: string } | { ok: false; reason: string };

/**
 * Checks a typed domain and answers its ASCII (punycode) and Unicode forms, or why it is refused. Refused: not a
 * host name; an invisible character; a form that IDNA changes (full-width letters, U+3002 as a dot, `ℂ`), so the
 * domain that goes out differs from the one typed; a label that mixes scripts (Latin `p` + Cyrillic `а`); a label
 * written only in letters that pass for Latin ones, unless the top-level domain is in that script too (`.рф`).
 */
export function checkDomain(domain: string): DomainResult {
  const typed = domain.normalize('NFC').toLowerCase().replace(/\.$/, '');
  const invisible = INVISIBLE.exec(domain);
  if (invisible) return { ok: false, reason: `has an invisible character ${codePoint(invisible[0].codePointAt(0)!)} in its domain` };
  const ascii = toAsciiDomain(domain);
  if (!ascii) return { ok: false, reason: `has a domain "${domain}" that is not a valid host name` };

  const asciiLabels = ascii.split('.');
  const labels: string[] = [];
  for (const label of asciiLabels) {
    const decoded = label.startsWith('xn--') ? punycodeDecode(label.slice(4)) : label;
    if (decoded === null) return { ok: false, reason: `has a domain label "${label}" that is not valid punycode` };
    labels.push(decoded);
  }
  const unicode = labels.join('.');
  // Round trip: the Unicode form encodes back to the same ASCII, and is what was typed (a typed xn-- label stays as typed).
  const typedLabels = typed.split('.');
  const roundTrips =
    toAsciiDomain(unicode) === ascii && typedLabels.length === labels.length && typedLabels.every((t, i) => t === (t.startsWith('xn--') ? asciiLabels[i] : labels[i]));
  if (!roundTrips) return { ok: false, reason: `has a domain "${domain}" that changes when encoded (it would go out as ${unicode === ascii ? ascii : `"${unicode}"`}); type it as it should be read` };

  for (const label of labels) {
    const chars = [...label];
    const invisibleInside = chars.find((c) => INVISIBLE.test(c));
    if (invisibleInside) return { ok: false, reason: `has an invisible character ${codePoint(invisibleInside.codePointAt(0)!)} in its domain` };
    const odd = chars.find((c) => !LABEL_CHAR.test(c));
    if (odd) return { ok: false, reason: `has the character ${describeChar(odd)} in its domain, which is not a letter, digit or hyphen` };
    const scripts = new Map<string, string>();
    for (const c of chars) {
      const s = scriptOf(c);
      if (s && !scripts.has(s)) scripts.set(s, c);
    }
    if (scripts.size > 1 && !SCRIPT_SETS.some((set) => [...scripts.keys()].every((s) => set.has(s)))) {
      const [[first], [second, sample]] = [...scripts.entries()];
      return {
        ok: false,
        reason: `has a domain label "${label}" that mixes ${scriptName(first)} and ${scriptName(second)} letters (${describeChar(sample)} is ${scriptName(second)}), the way look-alike domains are made`,
      };
    }
    const [script] = scripts.keys();
    const letters = chars.filter((c) => /\p{L}/u.test(c));
    if (script && script !== 'Latn' && letters.length && letters.every((c) => LATIN_TWINS[c])) {
      const tld = labels[labels.length - 1];
      if (![...tld].some((c) => scriptOf(c) === script)) {
        const reading = chars.map((c) => LATIN_TWINS[c] ?? c).join('');
        return { ok: false, reason: `has a domain label "${label}" written in ${scriptName(script)} letters that all look like Latin ones (it reads as "${reading}")` };
      }
    }
  }
  return { ok: true, ascii, unicode };
}

/** RFC 3492 decoding of one label's punycode (without "xn--"); null when it is not valid. */
export function punycodeDecode(input: string): string | null {
  const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, maxInt = 0x7fffffff;
  const adapt = (delta: number, points: number, first: boolean) => {
    delta = first ? Math.floor(delta / damp) : delta >> 1;
    delta += Math.floor(delta / points);
    let k = 0;
    for (; delta > ((base - tMin) * tMax) >> 1; k += base) delta = Math.floor(delta / (base - tMin));
    return k + Math.floor(((base - tMin + 1) * delta) / (delta + skew));
  };
  const digit = (c: number) => (c >= 48 && c <= 57 ? c - 22 : c >= 65 && c <= 90 ? c - 65 : c >= 97 && c <= 122 ? c - 97 : base);
  const out: number[] = [];
  const basic = Math.max(input.lastIndexOf('-'), 0);
  for (let j = 0; j < basic; j++) {
    const c = input.charCodeAt(j);
    if (c >= 0x80) return null;
    out.push(c);
  }
  let n = 128, bias = 72, i = 0;
  for (let at = basic > 0 ? basic + 1 : 0; at < input.length; ) {
    const oldI = i;
    for (let w = 1, k = base; ; k += base) {
      if (at >= input.length) return null;
      const d = digit(input.charCodeAt(at++));
      if (d >= base || d > Math.floor((maxInt - i) / w)) return null;
      i += d * w;
      const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
      if (d < t) break;
      if (w > Math.floor(maxInt / (base - t))) return null;
      w *= base - t;
    }
    bias = adapt(i - oldI, out.length + 1, oldI === 0);
    n += Math.floor(i / (out.length + 1));
    i %= out.length + 1;
    if (n > 0x10ffff) return null;
    out.splice(i++, 0, n);
  }
  return String.fromCodePoint(...out);
}

// ---------------------------------------------------------------------------------------------------------------

export function parseAddress(addr: string): ParseResult {
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return { ok: false, reason: 'is not an email address (expected name@domain)' };
  const local = addr.slice(0, at);
  const domain = addr.slice(at + 1);
  if (local.length > 64) return { ok: false, reason: 'has a local part longer than 64 characters' };
  if (!LOCAL_PART.test(local)) {
    return { ok: false, reason: `has a local part "${local}" with characters that are not allowed` };
  }
  const checked = checkDomain(domain);
  if (!checked.ok) return checked;
  return { ok: true, mailbox: { address: `${local}@${checked.ascii}` } };
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
    const invisible = INVISIBLE.exec(value);
    if (invisible) return { ok: false, reason: `has an invisible character ${codePoint(invisible[0].codePointAt(0)!)}` };
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
  if (name.includes('@')) {
    // `"ann@example.com" <ann@example.com>` (as mail clients copy it) is the address itself; any other address in the
    // name is what recipients would read instead of the real one.
    const same = parseAddress(name.trim());
    if (same.ok && same.mailbox.address.toLowerCase() === parsed.mailbox.address.toLowerCase()) return parsed;
    return { ok: false, reason: 'has a display name with an @ in it; recipients would read it as the address. Leave the address out of the name' };
  }
  return { ok: true, mailbox: name ? { name, address: parsed.mailbox.address } : parsed.mailbox };
}

export function formatMailbox(m: Mailbox): string {
  if (!m.name) return m.address;
  return `"${m.name.replace(/(["\\])/g, '\\$1')}" <${m.address}>`;
}
