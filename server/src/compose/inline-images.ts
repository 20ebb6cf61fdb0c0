import { createHash, randomBytes } from 'node:crypto';
import { Parser } from 'htmlparser2';
import { DomainError } from '../common/domain-error';
import { DEFAULT_IMAGE_LIMITS, imageForMail, type ImageLimits, type MailImageType } from './image-convert';
import { formatSize, IMAGE_EXTENSIONS, mailTooLarge, sniffImageType } from './mail-files';

export interface InlinePart {
  cid: string;
  filename: string;
  contentType: MailImageType;
  content: Buffer;
}

export interface UploadedImage {
  filename: string;
  content: Buffer;
}

const DATA_URI = /^data:([^,]{0,200}),/i;
const DATA_IMAGE_TYPES = /^image\/(?:png|jpe?g|gif|webp|avif|svg\+xml)$/;

/** Where sanitize-html drops the element with everything in it: an image there is never shown, so never loaded. */
const UNSHOWN = new Set(['script', 'style', 'textarea', 'option', 'noscript', 'noembed', 'noframes', 'template', 'title', 'iframe', 'object', 'xmp', 'select', 'svg', 'math']);

/** The `src` of every `<img>` that can end up in the mail, trimmed, in page order. */
export function imageSources(html: string): string[] {
  // Tag events only, no DOM: the page is parsed into a tree later anyway, by the sanitiser.
  const sources: string[] = [];
  const open: string[] = [];
  let unshown = 0;
  const parser = new Parser({
    onopentag(name, attribs) {
      open.push(name);
      if (UNSHOWN.has(name)) unshown++;
      const src = name === 'img' && !unshown ? (attribs.src ?? '').trim() : '';
      if (src) sources.push(src);
    },
    onclosetag() {
      const name = open.pop();
      if (name !== undefined && UNSHOWN.has(name)) unshown--;
    },
  });
  parser.write(html);
  parser.end();
  return sources;
}

/**
 * Turns `<img src>` values into inline parts. Only three sources are accepted: `data:` images, `cid:<name>` and a
 * bare `<name>` of an uploaded image. Nothing is ever fetched. Every image is converted for mail first (see
 * imageForMail: scaled down, SVG/WebP/AVIF to PNG or JPEG); one that cannot be is left out. `load` does that work,
 * in page order, before sanitising; `resolve` then answers from what it found. Uploads the page never shows stay out
 * of the mail, and identical bytes share one part.
 */
export class InlineImages {
  readonly parts: InlinePart[] = [];
  private readonly bySource = new Map<string, string | null>();
  private readonly byHash = new Map<string, string | null>();
  private readonly uploads = new Map<string, UploadedImage>();
  private partBytes = 0;

  /** `reservedBytes`: the encoded size already spoken for by attachments, for the running size check. */
  constructor(
    uploads: UploadedImage[],
    private readonly maxBytes: number,
    private readonly reservedBytes: number,
    private readonly limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  ) {
    for (const upload of uploads) if (!this.uploads.has(upload.filename)) this.uploads.set(upload.filename, upload);
  }

  /** Reads, checks and converts the images `sources` name. Throws MAIL_TOO_LARGE when they cannot fit. */
  async load(sources: Iterable<string>): Promise<void> {
    for (const src of sources) if (!this.bySource.has(src)) this.bySource.set(src, await this.loadOne(src));
  }

  /** The Content-ID for `src`, or null when the image is to be left out (also for one `load` was not given). */
  resolve = (src: string): string | null => this.bySource.get(src) ?? null;

  private async loadOne(src: string): Promise<string | null> {
    if (/^data:/i.test(src)) return this.fromDataUri(src);
    if (/^cid:/i.test(src)) return this.fromUpload(src.slice(4).replace(/^<(.*)>$/, '$1'));
    // A bare file name: no scheme, no path, no query. Anything else would be a remote or local fetch.
    if (/^[^/\\:?#]+$/.test(src)) return this.fromUpload(src);
    return null;
  }

  private async fromUpload(name: string): Promise<string | null> {
    const upload = this.uploads.get(name) ?? this.uploads.get(safeDecode(name));
    return upload ? this.add(upload.content, upload.filename) : null;
  }

  private async fromDataUri(src: string): Promise<string | null> {
    const header = DATA_URI.exec(src);
    if (!header) return null;
    const meta = header[1].toLowerCase().replace(/\s+/g, '').split(';');
    if (meta[meta.length - 1] !== 'base64' || !DATA_IMAGE_TYPES.test(meta[0])) return null;
    const payloadLength = src.length - header[0].length;
    // Checked on the text, before decoding: the decoded image is never larger than its base64 form.
    if (payloadLength > this.maxBytes) {
      throw new DomainError(
        'MAIL_TOO_LARGE',
        413,
        `An image embedded in the page is ${formatSize(payloadLength, 'up')}, over the mail size limit of ${formatSize(this.maxBytes, 'down')}; leave it out or make it smaller.`,
        { size: payloadLength, limit: this.maxBytes },
      );
    }
    const base64 = src.slice(header[0].length).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 === 1) return null;
    return this.add(Buffer.from(base64, 'base64'));
  }

  private async add(source: Buffer, filename?: string): Promise<string | null> {
    const hash = createHash('sha256').update(source).digest('hex');
    if (this.byHash.has(hash)) return this.byHash.get(hash)!;
    const type = sniffImageType(source);
    const image = type ? await imageForMail(source, type, this.limits) : null;
    if (!image) {
      this.byHash.set(hash, null);
      return null;
    }
    this.partBytes += image.content.length;
    const estimate = this.reservedBytes + Math.ceil((this.partBytes * 4) / 3);
    if (estimate > this.maxBytes) throw mailTooLarge(estimate, this.maxBytes);
    const extension = IMAGE_EXTENSIONS[image.contentType];
    const part: InlinePart = {
      // Random, so that no file name or page detail ends up in a header.
      cid: `${randomBytes(16).toString('hex')}@mailpage`,
      filename: filename ? (image.contentType === type ? filename : withExtension(filename, extension)) : `image-${this.parts.length + 1}.${extension}`,
      contentType: image.contentType,
      content: image.content,
    };
    this.byHash.set(hash, part.cid);
    this.parts.push(part);
    return part.cid;
  }
}

/** `diagram.svg` → `diagram.png`: the name says what the converted part is. */
function withExtension(filename: string, extension: string): string {
  const dot = filename.lastIndexOf('.');
  return `${dot > 0 ? filename.slice(0, dot) : filename}.${extension}`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
