import { DomUtils, parseDocument } from 'htmlparser2';
import sharp from 'sharp';
import type { ImageType } from './mail-files';

/** What goes out: types every mail client shows (Outlook shows neither WebP, AVIF nor SVG). */
export type MailImageType = 'image/png' | 'image/jpeg' | 'image/gif';

export interface MailImage {
  content: Buffer;
  contentType: MailImageType;
}

export interface ImageLimits {
  /** Wider images are scaled down to this width, keeping their aspect ratio. */
  maxWidth: number;
  /** Decompression-bomb guard: an image (all frames together) with more pixels than this is refused unread. */
  maxInputPixels: number;
  /** Per image; past it the image is left out. */
  timeoutMs: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxWidth: 1200, maxInputPixels: 40_000_000, timeoutMs: 10_000 };

const JPEG = { quality: 82, mozjpeg: true } as const;
const PNG = { compressionLevel: 9, adaptiveFiltering: true } as const;

/**
 * The image as a mail client can show it: PNG, JPEG and GIF no wider than `maxWidth` are passed through untouched,
 * wider ones are scaled down and re-encoded in their own format; WebP and AVIF become PNG (with transparency) or
 * whichever of PNG and JPEG is smaller; SVG is rasterised to PNG after everything that could load a resource is
 * taken out of it. Null when the bytes cannot be read, are over the pixel limit, or take longer than the timeout.
 */
export async function imageForMail(bytes: Buffer, type: ImageType, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<MailImage | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), limits.timeoutMs);
  });
  try {
    return await Promise.race([convert(bytes, type, limits).catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function convert(bytes: Buffer, type: ImageType, limits: ImageLimits): Promise<MailImage | null> {
  const input = type === 'image/svg+xml' ? Buffer.from(safeSvg(bytes.toString('utf8')), 'utf8') : bytes;
  const animated = type === 'image/gif';
  // sharp checks limitInputPixels when it opens the image, before decoding any pixel data.
  const open = () => sharp(input, { limitInputPixels: limits.maxInputPixels, animated, failOn: 'error' }).timeout({ seconds: Math.max(1, Math.ceil(limits.timeoutMs / 1000)) });
  const meta = await open().metadata();
  const width = meta.width ?? 0;
  const height = (meta.pageHeight ?? meta.height ?? 0) * (animated ? (meta.pages ?? 1) : 1);
  if (!width || !height || width * height > limits.maxInputPixels) return null;
  const tooWide = width > limits.maxWidth;

  if ((type === 'image/png' || type === 'image/jpeg' || type === 'image/gif') && !tooWide) return { content: bytes, contentType: type };

  // rotate(): apply the EXIF orientation, which re-encoding drops with the rest of the metadata.
  const pipeline = () => (tooWide ? open().rotate().resize({ width: limits.maxWidth, withoutEnlargement: true }) : open().rotate());
  switch (type) {
    case 'image/png':
    case 'image/svg+xml':
      return { content: await pipeline().png(PNG).toBuffer(), contentType: 'image/png' };
    case 'image/jpeg':
      return { content: await pipeline().jpeg(JPEG).toBuffer(), contentType: 'image/jpeg' };
    case 'image/gif':
      return { content: await pipeline().gif().toBuffer(), contentType: 'image/gif' };
    case 'image/webp':
    case 'image/avif': {
      const png = await pipeline().png(PNG).toBuffer();
      if (meta.hasAlpha) return { content: png, contentType: 'image/png' };
      // A photo is far smaller as JPEG, a diagram or screenshot as PNG: keep whichever it is.
      const jpeg = await pipeline().jpeg(JPEG).toBuffer();
      return jpeg.length < png.length ? { content: jpeg, contentType: 'image/jpeg' } : { content: png, contentType: 'image/png' };
    }
  }
}

type SvgNode = ReturnType<typeof parseDocument>['children'][number];

const DROPPED_SVG_ELEMENTS = new Set(['script', 'foreignobject', 'iframe', 'video', 'audio', 'object', 'embed', 'handler', 'listener']);
const LOCAL_REFERENCE = /^\s*(?:#|data:)/i;

/**
 * The SVG with nothing left that could load a resource: librsvg loads nothing but data: URLs for an image read from
 * memory, and this does not rely on it alone. Gone: processing instructions and the DOCTYPE (with any entity
 * declarations), scripts, XInclude, `href`/`xlink:href`/`src` to anything but `#fragment` or `data:`, and from CSS
 * `@import` and `url()` to anything but `#fragment` or `data:` (a style with a backslash escape is dropped whole,
 * as it could spell either).
 */
export function safeSvg(svg: string): string {
  const doc = parseDocument(withoutDoctype(svg.replace(/^\uFEFF/, '')), { xmlMode: true });
  clean(doc.children);
  return DomUtils.getOuterHTML(doc, { xmlMode: true });
}

const DOCTYPE = /<!DOCTYPE\s[^[>]*(?:\[([\s\S]*?)\])?\s*>/i;
const LITERAL_ENTITY = /<!ENTITY\s+([A-Za-z_][\w.-]{0,63})\s+(["'])([^"'&%<]{0,2000})\2\s*>/g;

/**
 * The SVG without its DOCTYPE. Entities it declares with a plain literal value (Illustrator writes
 * `<!ENTITY ns_svg "http://www.w3.org/2000/svg">`) are written out first; a value holding `&` or `%` is not taken,
 * so nothing expands twice, and the result may grow to at most four times the input. Any other entity is left
 * undefined, which makes the SVG unreadable rather than letting it load something.
 */
function withoutDoctype(svg: string): string {
  // The DOCTYPE comes before the root element: looking further would only cost time on a hostile file.
  const doctype = DOCTYPE.exec(svg.slice(0, 65_536));
  if (!doctype) return svg;
  const entities = new Map<string, string>();
  for (const [, name, , value] of (doctype[1] ?? '').matchAll(LITERAL_ENTITY)) entities.set(name, value);
  const rest = svg.slice(0, doctype.index) + svg.slice(doctype.index + doctype[0].length);
  if (!entities.size) return rest;
  const expanded = rest.replace(/&([A-Za-z_][\w.-]{0,63});/g, (match, name: string) => entities.get(name) ?? match);
  return expanded.length > 4 * svg.length + 1024 ? '' : expanded;
}

function clean(nodes: SvgNode[], inStyle = false): void {
  for (const node of [...nodes]) {
    if (node.type === 'directive' || node.type === 'comment') {
      DomUtils.removeElement(node);
    } else if (node.type === 'text') {
      if (inStyle) node.data = safeSvgCss(node.data);
    } else if (node.type === 'cdata') {
      clean(node.children, inStyle);
    } else if ('attribs' in node) {
      const name = node.name.toLowerCase();
      const local = name.slice(name.indexOf(':') + 1);
      if (DROPPED_SVG_ELEMENTS.has(local) || local === 'include') {
        DomUtils.removeElement(node);
        continue;
      }
      for (const [attr, value] of Object.entries(node.attribs)) {
        const lower = attr.toLowerCase();
        const localAttr = lower.slice(lower.indexOf(':') + 1);
        if (lower.startsWith('on')) delete node.attribs[attr];
        else if ((localAttr === 'href' || localAttr === 'src') && !LOCAL_REFERENCE.test(value)) delete node.attribs[attr];
        else if (lower === 'style') node.attribs[attr] = safeSvgCss(value);
        else if (/url\s*\(/i.test(value)) node.attribs[attr] = safeSvgCss(value);
      }
      clean(node.children, inStyle || local === 'style');
    }
  }
}

function safeSvgCss(css: string): string {
  if (css.includes('\\')) return '';
  return css.replace(/@import[^;]*(?:;|$)/gi, '').replace(/url\s*\(\s*(['"]?)([^)]*)\)/gi, (match, _quote: string, target: string) => (LOCAL_REFERENCE.test(target) ? match : 'none'));
}
