import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from '../common/domain-error';
import { formatSize, IMAGE_EXTENSIONS, ImageType, mailTooLarge, sniffImageType } from './mail-files';

export interface InlinePart {
  cid: string;
  filename: string;
  contentType: ImageType;
  content: Buffer;
}

export interface UploadedImage {
  filename: string;
  content: Buffer;
}

const DATA_URI = /^data:([^,]{0,200}),/i;

/**
 * Turns `<img src>` values into inline parts. Only three sources are accepted: `data:` raster images, `cid:<name>` and
 * a bare `<name>` of an uploaded image. Nothing is ever fetched. A part is created on first reference, so uploads the
 * page never shows stay out of the mail, and identical bytes share one part.
 */
export class InlineImages {
  readonly parts: InlinePart[] = [];
  private readonly byHash = new Map<string, InlinePart>();
  private readonly uploads = new Map<string, UploadedImage>();
  private embeddedBytes = 0;

  /** `reservedBytes`: the encoded size already spoken for by attachments and uploads, for the running size check. */
  constructor(
    uploads: UploadedImage[],
    private readonly maxBytes: number,
    private readonly reservedBytes: number,
  ) {
    for (const upload of uploads) if (!this.uploads.has(upload.filename)) this.uploads.set(upload.filename, upload);
  }

  /** The Content-ID for `src`, or null when the image is to be left out. */
  resolve = (src: string): string | null => {
    if (/^data:/i.test(src)) return this.fromDataUri(src);
    if (/^cid:/i.test(src)) return this.fromUpload(src.slice(4).replace(/^<(.*)>$/, '$1'));
    // A bare file name: no scheme, no path, no query. Anything else would be a remote or local fetch.
    if (/^[^/\\:?#]+$/.test(src)) return this.fromUpload(src);
    return null;
  };

  private fromUpload(name: string): string | null {
    const upload = this.uploads.get(name) ?? this.uploads.get(safeDecode(name));
    if (!upload) return null;
    const type = sniffImageType(upload.content);
    return type ? this.add(upload.content, type, upload.filename) : null;
  }

  private fromDataUri(src: string): string | null {
    const header = DATA_URI.exec(src);
    if (!header) return null;
    const meta = header[1].toLowerCase().replace(/\s+/g, '').split(';');
    if (meta[meta.length - 1] !== 'base64' || !/^image\/(?:png|jpe?g|gif|webp)$/.test(meta[0])) return null;
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
    const bytes = Buffer.from(base64, 'base64');
    const type = sniffImageType(bytes);
    return type ? this.add(bytes, type) : null;
  }

  private add(content: Buffer, contentType: ImageType, filename?: string): string {
    const hash = createHash('sha256').update(content).digest('hex');
    const known = this.byHash.get(hash);
    if (known) return known.cid;
    if (!filename) {
      this.embeddedBytes += content.length;
      const estimate = this.reservedBytes + Math.ceil((this.embeddedBytes * 4) / 3);
      if (estimate > this.maxBytes) throw mailTooLarge(estimate, this.maxBytes);
    }
    const part: InlinePart = {
      // Random, so that no file name or page detail ends up in a header.
      cid: `${randomBytes(16).toString('hex')}@mailpage`,
      filename: filename ?? `image-${this.parts.length + 1}.${IMAGE_EXTENSIONS[contentType]}`,
      contentType,
      content,
    };
    this.byHash.set(hash, part);
    this.parts.push(part);
    return part.cid;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
