import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import PostalMime from 'postal-mime';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeService, type ComposeInput, type MailFile } from './compose.service';
import { DEFAULT_IMAGE_LIMITS, imageForMail, safeSvg } from './image-convert';
import { sniffImageType } from './mail-files';

// Test images are made with sharp itself; what the mail holds is read back with postal-mime and measured with sharp.

type Sharp = ReturnType<typeof sharp>;

const service = new ComposeService();

async function send(html: string, images: MailFile[] = [], overrides: Partial<ComposeInput> = {}) {
  const mail = await service.compose({
    title: 'Images',
    html,
    subjectPrefix: '',
    from: { address: 'docs@example.com' },
    to: [{ address: 'ann@example.com' }],
    cc: [],
    images,
    attachments: [],
    messageIdDomain: 'example.com',
    maxBytes: 5 * 1024 * 1024,
    ...overrides,
  });
  const received = await PostalMime.parse(mail.raw);
  const parts = await Promise.all(
    received.attachments.map(async (a) => {
      const content = Buffer.from(a.content as ArrayBuffer);
      const meta = await sharp(content).metadata();
      return { filename: a.filename, mimeType: a.mimeType, content, width: meta.width, height: meta.height, format: meta.format };
    }),
  );
  return { mail, html: received.html ?? '', parts };
}

const upload = (filename: string, content: Buffer, contentType = 'application/octet-stream'): MailFile => ({ filename, content, contentType });

/** A photo stand-in: random pixels, which neither PNG nor JPEG can make small, but JPEG makes smaller. */
function photo(width: number, height: number): Sharp {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

/** A diagram stand-in: flat colour, which PNG makes tiny. */
function flat(width: number, height: number, alpha = false): Sharp {
  return sharp({ create: { width, height, channels: alpha ? 4 : 3, background: alpha ? { r: 0, g: 82, b: 204, alpha: 0.5 } : '#0052cc' } });
}

/** A smooth gradient, as a real photo is mostly: large as a full-size JPEG, small once scaled down. */
async function gradient(width: number, height: number): Promise<Sharp> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#123456"/><stop offset="1" stop-color="#fedcba"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  return sharp(await sharp(Buffer.from(svg)).png().toBuffer());
}

/** `png` with its header claiming `width` × `height` (CRC fixed), as a decompression bomb does. */
function claimSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

const SVG = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#ff0000"/><circle cx="60" cy="30" r="20" fill="#0000ff"/></svg>',
);

describe('SVG, WebP and AVIF', () => {
  it('sends an uploaded SVG as a PNG of the same size, named .png', async () => {
    const { html, parts } = await send('<p><img src="cid:flow.svg" alt="Flow"></p>', [upload('flow.svg', SVG, 'image/svg+xml')]);
    expect(parts).toMatchObject([{ filename: 'flow.png', mimeType: 'image/png', format: 'png', width: 120, height: 60 }]);
    const { data } = await sharp(parts[0].content).extract({ left: 5, top: 5, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray(0, 3)]).toEqual([255, 0, 0]);
    expect(html).toMatch(/<img src="cid:[0-9a-f]{32}@mailpage" alt="Flow"/);
  });

  it('sends an SVG given as a data: URI as a PNG', async () => {
    const { parts } = await send(`<img src="data:image/svg+xml;base64,${SVG.toString('base64')}" alt="Flow">`);
    expect(parts).toMatchObject([{ filename: 'image-1.png', mimeType: 'image/png', width: 120, height: 60 }]);
  });

  it('sends a WebP photo as JPEG and a WebP diagram as PNG, keeping transparency', async () => {
    const webpPhoto = await photo(300, 200).webp({ quality: 90 }).toBuffer();
    const webpDiagram = await flat(300, 200).webp({ lossless: true }).toBuffer();
    const webpAlpha = await flat(300, 200, true).webp().toBuffer();
    const { parts } = await send('<img src="cid:photo.webp"><img src="cid:diagram.webp"><img src="cid:overlay.webp">', [
      upload('photo.webp', webpPhoto),
      upload('diagram.webp', webpDiagram),
      upload('overlay.webp', webpAlpha),
    ]);
    expect(parts.map((p) => [p.filename, p.mimeType, p.width, p.height])).toEqual([
      ['photo.jpg', 'image/jpeg', 300, 200],
      ['diagram.png', 'image/png', 300, 200],
      ['overlay.png', 'image/png', 300, 200],
    ]);
    expect((await sharp(parts[2].content).metadata()).hasAlpha).toBe(true);
  });

  it('sends an AVIF photo as JPEG', async () => {
    const avif = await photo(240, 160).avif({ quality: 60 }).toBuffer();
    expect(sniffImageType(avif)).toBe('image/avif');
    const { parts } = await send(`<img src="data:image/avif;base64,${avif.toString('base64')}" alt="Photo">`);
    expect(parts).toMatchObject([{ mimeType: 'image/jpeg', format: 'jpeg', width: 240, height: 160 }]);
  });
});

describe('large images', () => {
  it('scales a 4000 px wide image down to 1200 px, keeping its aspect ratio and format', async () => {
    const bigPng = await (await gradient(4000, 3000)).png().toBuffer();
    const bigJpeg = await (await gradient(4000, 2000)).jpeg({ quality: 95 }).toBuffer();
    const { parts } = await send('<img src="cid:big.png"><img src="cid:big.jpg">', [upload('big.png', bigPng), upload('big.jpg', bigJpeg)]);
    expect(parts.map((p) => [p.filename, p.mimeType, p.width, p.height])).toEqual([
      ['big.png', 'image/png', 1200, 900],
      ['big.jpg', 'image/jpeg', 1200, 600],
    ]);
    expect(parts[1].content.length).toBeLessThan(bigJpeg.length);
  });

  it('sends an image no wider than 1200 px exactly as given', async () => {
    const small = await photo(800, 600).jpeg({ quality: 90 }).toBuffer();
    const { parts } = await send('<img src="cid:small.jpg">', [upload('small.jpg', small)]);
    expect(parts[0].content.equals(small)).toBe(true);
  });

  it('sends a page whose images fit the size limit only once scaled down', async () => {
    const big = await (await gradient(4000, 3000)).jpeg({ quality: 98 }).toBuffer();
    const maxBytes = 200_000;
    expect(big.length).toBeGreaterThan(maxBytes);
    const { mail, parts } = await send('<img src="cid:big.jpg">', [upload('big.jpg', big)], { maxBytes });
    expect(parts).toMatchObject([{ width: 1200 }]);
    expect(mail.size).toBeLessThanOrEqual(maxBytes);
  });
});

describe('hostile images', () => {
  it('refuses a decompression bomb without decoding it, and shows its alt text instead', async () => {
    const bomb = claimSize(await flat(100, 100).png().toBuffer(), 60_000, 60_000);
    expect(await sharp(bomb, { limitInputPixels: false }).metadata()).toMatchObject({ width: 60_000, height: 60_000 });
    const started = Date.now();
    const { html, parts } = await send('<p><img src="cid:bomb.png" alt="Huge chart"></p>', [upload('bomb.png', bomb, 'image/png')]);
    expect(parts).toEqual([]);
    expect(html).toMatch(/<span>Huge chart<\/span>/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses an SVG whose size is past the pixel limit', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="10" height="10"/></svg>');
    expect(await imageForMail(svg, 'image/svg+xml')).toBeNull();
  });

  it('gives up on an image that takes longer than its timeout', async () => {
    const big = await photo(3000, 2000).jpeg().toBuffer();
    expect(await imageForMail(big, 'image/jpeg', { ...DEFAULT_IMAGE_LIMITS, timeoutMs: 1 })).toBeNull();
    expect(await imageForMail(big, 'image/jpeg')).toMatchObject({ contentType: 'image/jpeg' });
  });

  it('drops an image it cannot read', async () => {
    const { html, parts } = await send('<img src="cid:page.png" alt="not an image"><img src="cid:broken.svg" alt="svg without a size">', [
      upload('page.png', Buffer.from('<html><script>alert(1)</script></html>'), 'image/png'),
      upload('broken.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/svg+xml'),
    ]);
    expect(parts).toEqual([]);
    expect(html).not.toMatch(/<img/);
    expect(html).toContain('not an image');
    expect(html).toContain('svg without a size');
  });

  describe('an SVG that refers to other files', () => {
    let hits: string[] = [];
    let origin = '';
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end();
    });
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('is rendered without loading anything, and without the references', async () => {
      hits = [];
      const svg =
        `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/hostname">]>` +
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xi="http://www.w3.org/2001/XInclude" width="40" height="20">` +
        `<style>@import url(${origin}/a.css); rect { fill: url(${origin}/f.svg#p) }</style>` +
        `<image href="${origin}/i.png" width="40" height="20"/><image xlink:href="file:///etc/hostname" width="40" height="20"/>` +
        `<xi:include href="${origin}/x.xml" parse="text"/><use href="${origin}/u.svg#a"/><use href="#local"/>` +
        `<rect id="local" width="40" height="20" style="fill: url('${origin}/g')" onload="alert(1)"/><text>&secret;</text><script>alert(2)</script></svg>`;
      const cleaned = safeSvg(svg);
      expect(cleaned).not.toMatch(/127\.0\.0\.1|file:|ENTITY|secret SYSTEM|@import|<script|onload|xi:include/);
      expect(cleaned).toContain('<use href="#local"/>');
      const { parts } = await send('<img src="cid:evil.svg" alt="x">', [upload('evil.svg', Buffer.from(svg))]);
      expect(parts).toMatchObject([{ mimeType: 'image/png', width: 40, height: 20 }]);
      expect(hits).toEqual([]);
    });

    it('keeps the entities an Illustrator export declares for its namespaces', () => {
      const svg = '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [<!ENTITY ns_svg "http://www.w3.org/2000/svg">]><svg xmlns="&ns_svg;" width="4" height="4"/>';
      expect(safeSvg(svg)).toBe('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
    });
  });
});

describe('recognising image files by their bytes', () => {
  it('knows SVG after an XML declaration, a comment and a DOCTYPE, but not an HTML page', () => {
    expect(sniffImageType(SVG)).toBe('image/svg+xml');
    expect(sniffImageType(Buffer.from('\uFEFF<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>'))).toBe('image/svg+xml');
    expect(sniffImageType(Buffer.from('<!DOCTYPE html><html><body><svg></svg></body></html>'))).toBeNull();
    expect(sniffImageType(Buffer.from(' '.repeat(10_000) + 'x'))).toBeNull();
  });
});
