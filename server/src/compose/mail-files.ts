import { headerSafetyProblem } from '@mailpage/contract';
import { badRequest, DomainError } from '../common/domain-error';

export const MAX_FILENAME_LENGTH = 255;

/**
 * The name a file goes out under. A name with a line break, NUL, control or bidi character is refused (it would
 * break or disguise the MIME header, e.g. `invoice\u202Efdp.exe`); a directory part is dropped because mail clients
 * save under the name as given. `label` names the file in the message, e.g. `attachments[1]`.
 */
export function mailFilename(name: unknown, label: string, fallback: string): string {
  if (typeof name !== 'string') throw badRequest(`${label} filename must be a string`, { field: label });
  const problem = headerSafetyProblem(name);
  if (problem) throw badRequest(`${label} filename ${problem}`, { field: label });
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim();
  const filename = base === '.' || base === '..' || !base ? fallback : base;
  if (filename.length > MAX_FILENAME_LENGTH) {
    throw badRequest(`${label} filename is longer than ${MAX_FILENAME_LENGTH} characters`, { field: label });
  }
  return filename;
}

const TOKEN = "[a-z0-9!#$&^_.+-]{1,127}";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/**
 * `type/subtype` only (no parameters), else application/octet-stream. multipart/* and message/* are refused too:
 * MIME builders treat them as containers whose content is copied unencoded (RFC 2046 section 5), which would let a
 * file's bytes become MIME structure.
 */
export function mailContentType(contentType: unknown): string {
  const value = typeof contentType === 'string' ? contentType.trim().toLowerCase() : '';
  if (!MEDIA_TYPE.test(value) || /^(multipart|message)\//.test(value)) return 'application/octet-stream';
  return value;
}

/** An image type the composer reads. Only PNG, JPEG and GIF go out as they are; the others are converted first. */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/avif' | 'image/svg+xml';

export const IMAGE_EXTENSIONS: Record<ImageType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/svg+xml': 'svg',
};

const SVG_START = /^(?:\s|<\?xml[^>]{0,200}\?>|<!--[\s\S]{0,2000}?-->|<!doctype[^>[]{0,200}(?:\[[\s\S]{0,4000}?\])?\s*>)*<(?:[a-z][\w-]*:)?svg[\s>]/i;

/** The image type the bytes really are, by their magic number (SVG: by its root element); null for anything else. */
export function sniffImageType(bytes: Buffer): ImageType | null {
  const starts = (signature: number[], at = 0) => bytes.length >= at + signature.length && signature.every((b, i) => bytes[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  // ISO BMFF: a `ftyp` box whose major or a compatible brand is AVIF (ISO/IEC 23000-22).
  if (starts([0x66, 0x74, 0x79, 0x70], 4)) {
    const boxSize = Math.min(bytes.readUInt32BE(0), bytes.length, 256);
    for (let at = 8; at + 4 <= boxSize; at += 4) {
      if (at === 12) continue; // minor version, not a brand
      const brand = bytes.toString('latin1', at, at + 4);
      if (brand === 'avif' || brand === 'avis') return 'image/avif';
    }
    return null;
  }
  if (SVG_START.test(bytes.subarray(0, 8192).toString('utf8').replace(/^\uFEFF/, ''))) return 'image/svg+xml';
  return null;
}

/**
 * A size for a person: "3.4 MB", "120 KB" or "800 bytes". A mail size is rounded up and a limit down, so that a mail
 * just over the limit never reads as "10 MB, over the limit of 10 MB".
 */
export function formatSize(bytes: number, round: 'up' | 'down'): string {
  const step = round === 'up' ? Math.ceil : Math.floor;
  if (bytes >= 1024 * 1024) return `${step((bytes * 10) / (1024 * 1024)) / 10} MB`;
  if (bytes >= 1024) return `${step(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

export function mailTooLarge(size: number, limit: number): DomainError {
  return new DomainError(
    'MAIL_TOO_LARGE',
    413,
    `The mail would be ${formatSize(size, 'up')}, over the limit of ${formatSize(limit, 'down')}; leave out some attachments or images.`,
    { size, limit },
  );
}
