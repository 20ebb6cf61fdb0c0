/** Mail size limit shown until the service names another one (MAIL_TOO_LARGE details.limit): MAIL_MAX_BYTES' default. */
export const DEFAULT_MAIL_LIMIT = 18 * 1024 * 1024;

/**
 * A size for a person, as the service writes it: "3.4 MB", "120 KB", "800 bytes". Sizes round up and limits down,
 * so a total just over a limit never reads as equal to it.
 */
export function formatSize(bytes: number, round: 'up' | 'down' = 'up'): string {
  const step = round === 'up' ? Math.ceil : Math.floor;
  if (bytes >= 1024 * 1024) return `${step((bytes * 10) / (1024 * 1024)) / 10} MB`;
  if (bytes >= 1024) return `${step(bytes / 1024)} KB`;
  return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** "ABCD 1234 ..." groups of four, the way key fingerprints are usually read aloud and compared. */
export function formatFingerprint(fp: string): string {
  return fp.replace(/\s+/g, '').toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
}

let next = 0;
/** A document-unique id for label/aria wiring. */
export function uniqueId(prefix: string): string {
  next += 1;
  return `${prefix}-${next}`;
}

/** A fresh idempotency key (UUID v4); falls back to getRandomValues where randomUUID is missing. */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Reads a file the person picked: text as is, binary as base64. */
export async function readFileAsText(file: File): Promise<string> {
  return file.text();
}

export async function readFileAsBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
