import { randomUUID } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { headerSafetyProblem, type Mailbox } from '@mailpage/contract';
import { compile, type FormatCallback } from 'html-to-text';
import juice from 'juice';
import MailComposer from 'nodemailer/lib/mail-composer';
import { badRequest } from '../common/domain-error';
import { mediaQueriesOnly, sanitizeStylesheet } from './css-sanitizer';
import { compileDefaultStyles } from './default-styles';
import { sanitizePageHtml } from './html-sanitizer';
import { GMAIL_CLIP_BYTES, htmlByteLength, minifyHtml } from './html-size';
import { imageSources, InlineImages, type InlinePart } from './inline-images';
import { renderMacros } from './macros';
import { FRAME_CSS, frameHtml } from './mail-frame';
import { mailContentType, mailFilename, mailTooLarge } from './mail-files';
import { collect, encodable, estimatedSize } from './message-bytes';
import { smtpSafe } from './smtp-safe';

export interface MailFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface ComposeInput {
  /** Already checked for header safety by the request schema. */
  title: string;
  /** Untrusted page HTML: Confluence export view, or an API client's HTML. */
  html: string;
  /**
   * Absolute http(s) link to the page in Confluence. Parts of the page that cannot be shown in mail (a page tree, an
   * embedded frame, ...) are replaced by a line that links here; without it the line says "open the page in
   * Confluence". Anything but an absolute http(s) URL counts as absent.
   */
  pageUrl?: string | null;
  /** May be ''. */
  subjectPrefix: string;
  from: Mailbox;
  replyTo?: Mailbox;
  to: Mailbox[];
  /** There is no bcc here on purpose: bcc recipients live only in the SMTP envelope. */
  cc: Mailbox[];
  /**
   * Images the HTML refers to as `src="cid:<filename>"` or `src="<filename>"`; unreferenced ones are left out. PNG,
   * JPEG, GIF, WebP, AVIF or SVG; all go out as PNG, JPEG or GIF at most 1200 px wide (see imageForMail).
   */
  images: MailFile[];
  attachments: MailFile[];
  messageIdDomain: string;
  /** Limit on the size of the final raw message, in bytes. */
  maxBytes: number;
  date?: Date;
  /** The site's layout around the page; absent: the page alone. */
  layout?: ComposeLayout;
  /** The sender's personal message, plain text, shown above the page. */
  message?: string | null;
  /** For the footer's {sender} and {space}. */
  senderName?: string;
  spaceKey?: string | null;
}

/** A site's mail layout as the composer uses it (see MailLayoutService). */
export interface ComposeLayout {
  headerText: string;
  /** PNG or JPEG, sent as an inline (CID) part. */
  logo: MailFile | null;
  footerTemplate: string;
  /** Already refused for forbidden constructs when saved; sanitised again here and inlined after the defaults. */
  css: string;
  includePageLink: boolean;
}

/** What renderPage needs: the input without its attachments (counted by `reservedBytes`) and without the headers. */
export type PageInput = Omit<ComposeInput, 'attachments' | 'from' | 'replyTo' | 'to' | 'cc' | 'messageIdDomain'> & { reservedBytes: number };

/** A rendered page: a RenderedMail without the attachments. */
export type RenderedPage = Omit<RenderedMail, 'attachments'>;

/** The raw message of one set of headers: what `build` makes on a worker thread. */
export interface BuiltMessage {
  raw: Buffer;
  messageId: string;
}

/** Renders pages and builds messages off the event loop (RenderPool, on worker threads); else ComposeService does. */
export abstract class PageRenderer {
  abstract readonly enabled: boolean;
  abstract renderPage(input: PageInput): Promise<RenderedPage>;
  abstract buildMessage(mail: RenderedMail, headers: MessageHeaders): Promise<BuiltMessage>;
}

/**
 * A mail whose files (images and attachments) are together at most this large is built on a worker thread, copied
 * there; a larger one is built here, where its attachments are read in slices and never copied (message-bytes.ts).
 */
export const THREAD_BUILD_MAX_FILE_BYTES = 4 * 1024 * 1024;

/** The headers of one message; the body (`RenderedMail`) can be shared by several messages with different headers. */
export type MessageHeaders = Pick<ComposeInput, 'from' | 'replyTo' | 'to' | 'cc' | 'messageIdDomain' | 'maxBytes' | 'date'>;

/** Everything of a mail but its headers: composed once, built into one message per recipient group. */
export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
  htmlBytes: number;
  clipped: boolean;
  inline: InlinePart[];
  attachments: MailFile[];
}

export interface ComposedPart {
  filename: string;
  contentType: string;
  size: number;
  inline: boolean;
}

export interface ComposedMail {
  /** The whole RFC 5322 message with CRLF line endings. */
  raw: Buffer;
  /** `<...@messageIdDomain>` */
  messageId: string;
  subject: string;
  /** The final HTML body: macros made static, sanitised, CSS inlined, minified, images as cid: references. */
  html: string;
  text: string;
  size: number;
  /** Size of `html` in UTF-8 bytes. */
  htmlBytes: number;
  /** True when `html` is over Gmail's clipping limit (GMAIL_CLIP_BYTES): Gmail will show only its beginning. */
  clipped: boolean;
  parts: ComposedPart[];
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const PAGE_CLASS = 'mailpage-page';

/** The site logo's part name: not a name Confluence gives an attachment image of the page. */
const LOGO_NAME_PNG = 'mailpage-site-logo.png';
const LOGO_NAME_JPEG = 'mailpage-site-logo.jpg';

const MONOSPACE = 'SFMono-Regular, Menlo, Consolas, "Liberation Mono", "Courier New", monospace';

/** Readable defaults for a page in a mail client; the page's own CSS comes after and wins where it says more. */
const DEFAULT_CSS = `
.mailpage-page { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 14px; line-height: 1.5; color: #172b4d; max-width: 800px; margin: 0 auto; padding: 16px; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.2em 0 0.5em 0; }
p { margin: 0 0 0.8em 0; }
a { color: #0052cc; }
img { max-width: 100%; height: auto; border: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
th, td { border: 1px solid #c1c7d0; padding: 6px 10px; vertical-align: top; text-align: left; }
th { background-color: #f4f5f7; font-weight: bold; }
pre { font-family: ${MONOSPACE}; font-size: 13px; background-color: #f4f5f7; border: 1px solid #dfe1e6; border-radius: 3px; padding: 8px 12px; white-space: pre-wrap; word-wrap: break-word; }
code { font-family: ${MONOSPACE}; font-size: 13px; background-color: #f4f5f7; }
blockquote { border-left: 3px solid #dfe1e6; margin: 0 0 0.8em 0; padding-left: 12px; color: #505f79; }
hr { border: 0; border-top: 1px solid #dfe1e6; }
`;

const JUICE_OPTIONS: juice.Options = {
  removeStyleTags: true,
  preserveMediaQueries: true,
  preserveFontFaces: false,
  applyWidthAttributes: true,
  applyHeightAttributes: false,
};

/** DEFAULT_CSS as juice would inline it, without juice; null if it ever needs more than default-styles.ts does. */
const DEFAULT_STYLES = compileDefaultStyles(DEFAULT_CSS, JUICE_OPTIONS);

const altText: FormatCallback = (elem, _walk, builder) => {
  const alt = (elem.attribs?.alt ?? '').trim();
  if (alt) builder.addInline(alt);
};

const TEXT_OPTIONS = {
  wordwrap: 78,
  formatters: { altText },
  selectors: [
    { selector: 'a', options: { linkBrackets: ['[', ']'] as [string, string], hideLinkHrefIfSameAsText: true } },
    { selector: 'img', format: 'altText' },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false, maxColumnWidth: 40 } },
    // The boxes macros.ts draws for panels are tables only for Outlook's sake: in text they are plain blocks.
    { selector: 'table.mailpage-box', format: 'block' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
  ],
};

/** Compiled once: `convert` compiles the options (its selector tree) on every call, half of its time on a page. */
const toText = compile(TEXT_OPTIONS);

/**
 * Turns a page into a MIME message: untrusted HTML in, a raw RFC 5322 message out, with nothing fetched from
 * anywhere and nothing written anywhere. Throws DomainError for a bad file name (400) or a mail over the limit (413).
 */
@Injectable()
export class ComposeService {
  constructor(@Optional() private readonly pages?: PageRenderer) {}

  async compose(input: ComposeInput): Promise<ComposedMail> {
    return this.build(await this.render(input), input);
  }

  /** Sanitises, styles and converts the page (and the layout around it): the work every message of a send shares. */
  async render(input: ComposeInput): Promise<RenderedMail> {
    // A bad subject is named before the size of the attachments (renderPage checks it again, for the page's own use).
    mailSubject(input.subjectPrefix, input.title);
    const attachments = input.attachments.map((file, i) => checkedFile(file, `attachments[${i}]`, `attachment-${i + 1}`));
    // Base64 makes every byte 4/3 as large: refuse before sanitising, inlining and encoding what cannot fit.
    // Images are counted as they are converted (scaled down, they may well fit); attachments go out as they are.
    const reserved = Math.ceil((attachments.reduce((sum, file) => sum + file.content.length, 0) * 4) / 3);
    if (reserved > input.maxBytes) throw mailTooLarge(reserved, input.maxBytes);
    const { title, html, pageUrl, subjectPrefix, images, maxBytes, date, layout, message, senderName, spaceKey } = input;
    const pageInput: PageInput = { title, html, pageUrl, subjectPrefix, images, maxBytes, date, layout, message, senderName, spaceKey, reservedBytes: reserved };
    // The page's work on a worker thread when there is a pool (the attachments never leave this thread), else here.
    const page = this.pages?.enabled ? await this.pages.renderPage(pageInput) : await this.renderPage(pageInput);
    return { ...page, attachments };
  }

  /** The page part of render(): everything but the attachments, which only count here by `reservedBytes`. */
  async renderPage(input: PageInput): Promise<RenderedPage> {
    const layout = input.layout;
    const logo = layout?.logo ? { ...layout.logo, filename: layout.logo.contentType === 'image/jpeg' ? LOGO_NAME_JPEG : LOGO_NAME_PNG } : null;
    // The logo first: an upload of the page with the same name cannot take its place.
    const images = [...(logo ? [logo] : []), ...input.images].map((file, i) => checkedFile(file, `images[${i}]`, `image-${i + 1}`));
    const subject = mailSubject(input.subjectPrefix, input.title);
    const reserved = input.reservedBytes;

    const pageUrl = input.pageUrl ?? null;
    const pageHtml = renderMacros(input.html, { pageUrl });
    const frame = frameHtml({
      headerText: layout?.headerText ?? '',
      logoSrc: logo ? `cid:${logo.filename}` : null,
      message: input.message ?? null,
      footerTemplate: layout?.footerTemplate ?? '',
      includePageLink: layout?.includePageLink ?? false,
      values: { sender: input.senderName ?? '', page: input.title, space: input.spaceKey ?? '', link: pageUrl, date: input.date ?? new Date() },
    });
    const inlineImages = new InlineImages(images, input.maxBytes, reserved);
    await inlineImages.load([...(logo ? [`cid:${logo.filename}`] : []), ...imageSources(pageHtml)]);
    const page = sanitizePageHtml(pageHtml, inlineImages.resolve);
    // The frame is built from escaped values; it goes through the same sanitiser all the same.
    const before = frame.before ? sanitizePageHtml(frame.before, inlineImages.resolve).body : '';
    const after = frame.after ? sanitizePageHtml(frame.after, inlineImages.resolve).body : '';
    const siteCss = layout?.css ? sanitizeStylesheet(layout.css) : '';
    const styled = inlineCss(`${before}${page.body}${after}`, [...(before || after ? [FRAME_CSS] : []), ...page.css, ...(siteCss ? [siteCss] : [])]);
    // From the sanitised body rather than the styled one: the same text (the classes the text selectors look for are
    // there too) from half the HTML, as every element has not yet got its style attribute.
    const text = toText(`<div class="${PAGE_CLASS}">${before}${page.body}${after}</div>`);
    // The page wrapper keeps its class: a stable hook for whatever reads the HTML later (header protection does).
    const html = minifyHtml(styled, [PAGE_CLASS]);
    const htmlBytes = htmlByteLength(html);

    // Text and attribute values have "<" escaped, so only a real <img> tag matches here, not a page that quotes one.
    const referenced = new Set([...html.matchAll(/<img\s[^>]*?\bsrc="cid:([^"]*)"/g)].map((m) => m[1]));
    const inline = inlineImages.parts.filter((part) => referenced.has(part.cid));
    if (inline.length !== referenced.size) throw new Error('the composed HTML refers to an inline image that has no part');
    return { subject, html, text, htmlBytes, clipped: htmlBytes > GMAIL_CLIP_BYTES, inline };
  }

  /** One RFC 5322 message of a rendered mail, with its own headers and Message-ID. MAIL_TOO_LARGE over `maxBytes`. */
  async build(r: RenderedMail, h: MessageHeaders): Promise<ComposedMail> {
    const files = [...r.inline, ...r.attachments].reduce((sum, file) => sum + file.content.length, 0);
    const { raw, messageId } = this.pages?.enabled && files <= THREAD_BUILD_MAX_FILE_BYTES ? await this.pages.buildMessage(r, h) : await this.buildMessage(r, h);
    return {
      raw,
      messageId,
      subject: r.subject,
      html: r.html,
      text: r.text,
      size: raw.length,
      htmlBytes: r.htmlBytes,
      clipped: r.clipped,
      parts: [
        ...r.inline.map((part) => ({ filename: part.filename, contentType: part.contentType, size: part.content.length, inline: true })),
        ...r.attachments.map((file) => ({ filename: file.filename, contentType: file.contentType, size: file.content.length, inline: false })),
      ],
    };
  }

  /** The message itself, on whichever thread build() chose. */
  async buildMessage(r: RenderedMail, h: MessageHeaders): Promise<BuiltMessage> {
    if (!HOST_NAME.test(h.messageIdDomain)) throw new Error('messageIdDomain is not a host name');
    const messageId = `<${randomUUID()}@${h.messageIdDomain.toLowerCase()}>`;

    const built = await new MailComposer({
      from: h.from,
      to: h.to.length ? h.to : undefined,
      cc: h.cc.length ? h.cc : undefined,
      replyTo: h.replyTo,
      subject: r.subject,
      messageId,
      date: h.date ?? new Date(),
      text: withCrlf(r.text),
      html: withCrlf(r.html),
      attachments: [
        ...r.inline.map((part) => ({
          filename: part.filename,
          content: encodable(part.content),
          contentType: part.contentType,
          cid: part.cid,
          contentDisposition: 'inline',
          contentTransferEncoding: 'base64',
        })),
        ...r.attachments.map((file) => ({
          filename: file.filename,
          content: encodable(file.content),
          contentType: file.contentType,
          contentDisposition: 'attachment',
          // Never 7bit: a text attachment copied as is could hold a line with a lone "." (see smtpSafe).
          contentTransferEncoding: 'base64',
        })),
      ],
      // Body parts in quoted-printable (`encoding`), non-ASCII header words as Q (`textEncoding`). nodemailer writes
      // CRLF itself and the bodies come with CRLF, so no `newline: 'win'`: it would rescan the whole message.
      encoding: 'quoted-printable',
      textEncoding: 'quoted-printable',
      disableFileAccess: true,
      disableUrlAccess: true,
    }).compile();
    const files = [...r.inline, ...r.attachments].map((file) => file.content.length);
    const raw = smtpSafe(await collect(built.createReadStream(), estimatedSize(files, [r.html, r.text], h.to.length + h.cc.length)));

    if (raw.length > h.maxBytes) throw mailTooLarge(raw.length, h.maxBytes);
    return { raw, messageId };
  }
}

function checkedFile(file: MailFile, label: string, fallback: string): MailFile {
  if (!Buffer.isBuffer(file.content)) throw badRequest(`${label} has no file content`, { field: label });
  return { filename: mailFilename(file.filename, label, fallback), contentType: mailContentType(file.contentType), content: file.content };
}

export function mailSubject(prefix: string, title: string): string {
  const subject = !prefix ? title : /\s$/.test(prefix) ? `${prefix}${title}` : `${prefix} ${title}`;
  const problem = headerSafetyProblem(subject);
  if (problem) throw badRequest(`The subject ${problem}`, { field: 'subject' });
  return subject;
}

/** `via` is for default-styles.spec.ts, which holds each way to the other: 'auto' takes the first that can do the page. */
export function inlineCss(body: string, pageCss: string[], via: 'auto' | 'defaults' | 'juice' = 'auto'): string {
  const head = '<!DOCTYPE html><html><head><meta charset="utf-8">';
  const page = `<body><div class="${PAGE_CLASS}">${body}</div></body></html>`;
  // A page without CSS of its own (the usual case) gets the defaults without juice: the same HTML, a fraction of the CPU.
  const fast = via !== 'juice' && !pageCss.length && DEFAULT_STYLES ? DEFAULT_STYLES(`${head}</head>${page}`) : null;
  if (fast !== null) return fast;
  if (via === 'defaults') throw new Error('the default styles cannot be inlined without juice for this page');
  const styles = [DEFAULT_CSS, ...pageCss].map((css) => `<style>${css}</style>`).join('');
  const document = `${head}${styles}</head>${page}`;
  // The synchronous API only inlines <style> text; juiceResources would fetch <link>ed and url() resources.
  const inlined = juice(document, JUICE_OPTIONS);
  // What juice keeps it re-serialises: check it once more, and keep only media queries (everything else is inlined).
  return inlined.replace(/<style>([\s\S]*?)<\/style>/g, (_match, css: string) => {
    const safe = mediaQueriesOnly(css);
    return safe ? `<style>\n${safe}\n</style>` : '';
  });
}

function withCrlf(value: string): string {
  return value.replace(/\r\n?|\n/g, '\r\n');
}
