import sanitizeHtml from 'sanitize-html';
import { sanitizeStyleAttribute, sanitizeStylesheet } from './css-sanitizer';

/**
 * Decides what an `<img src>` becomes: the Content-ID of an inline part, or null to replace the image by its alt
 * text. May throw (an embedded image over the size limit).
 */
export type ImageResolver = (src: string) => string | null;

export interface SanitizedPage {
  /** Body HTML with only allow-listed elements and attributes; `<style>` elements taken out. */
  body: string;
  /** The page's own stylesheets, already reduced to safe rules. */
  css: string[];
}

const TEXT_TAGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'span', 'div', 'blockquote', 'pre', 'code'];
const INLINE_TAGS = ['strong', 'b', 'em', 'i', 'u', 's', 'strike', 'del', 'ins', 'sub', 'sup', 'small', 'mark', 'kbd', 'samp', 'var', 'abbr', 'cite', 'q'];
const LIST_TAGS = ['ul', 'ol', 'li', 'dl', 'dt', 'dd'];
const TABLE_TAGS = ['table', 'caption', 'colgroup', 'col', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td'];

const SIZE = /^\d{1,5}(?:px|%)?$/;

const allowList: sanitizeHtml.IOptions = {
  allowedTags: [...TEXT_TAGS, ...INLINE_TAGS, ...LIST_TAGS, ...TABLE_TAGS, 'a', 'img', 'figure', 'figcaption', 'style'],
  // <style> is allowed only so that its CSS can be inlined; its text is replaced by sanitizeStylesheet() below.
  allowVulnerableTags: true,
  allowedAttributes: {
    '*': ['class', 'style', 'title', 'dir', 'lang'],
    a: ['href'],
    img: ['src', 'alt', 'width', 'height'],
    table: ['width', 'align', 'border', 'cellpadding', 'cellspacing'],
    col: ['span', 'width'],
    colgroup: ['span', 'width'],
    th: ['colspan', 'rowspan', 'align', 'valign', 'width', 'scope'],
    td: ['colspan', 'rowspan', 'align', 'valign', 'width'],
    tr: ['align', 'valign'],
    ol: ['start', 'type', 'reversed'],
    li: ['value'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['cid'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  // Text inside these is never page content: drop it together with the element.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'noembed', 'noframes', 'template', 'title', 'iframe', 'object', 'xmp', 'select', 'svg', 'math'],
  disallowedTagsMode: 'discard',
};

/** Sanitises untrusted page HTML for mail. Remote images never survive: see the `img` transform. */
export function sanitizePageHtml(html: string, resolveImage: ImageResolver): SanitizedPage {
  const sanitized = sanitizeHtml(html, {
    ...allowList,
    transformTags: {
      img: (tagName, attribs) => {
        const src = (attribs.src ?? '').trim();
        const cid = src ? resolveImage(src) : null;
        if (!cid) return { tagName: 'span', attribs: {}, text: (attribs.alt ?? '').trim() || '[image]' };
        const kept: sanitizeHtml.Attributes = { src: `cid:${cid}` };
        for (const name of ['alt', 'title', 'class', 'style']) if (attribs[name] !== undefined) kept[name] = attribs[name];
        for (const name of ['width', 'height']) if (SIZE.test((attribs[name] ?? '').trim())) kept[name] = attribs[name].trim();
        return { tagName, attribs: kept };
      },
      a: (tagName, attribs) => {
        const href = (attribs.href ?? '').trim();
        const kept = { ...attribs };
        // Absolute http(s) and mailto links only: a relative link has nothing to resolve against in a mailbox.
        if (/^(?:https?:\/\/|mailto:)/i.test(href)) kept.href = href;
        else delete kept.href;
        return { tagName, attribs: kept };
      },
      '*': (tagName, attribs) => {
        if (attribs.style === undefined) return { tagName, attribs };
        const style = sanitizeStyleAttribute(attribs.style);
        const kept = { ...attribs };
        if (style) kept.style = style;
        else delete kept.style;
        return { tagName, attribs: kept };
      },
    },
  });

  // sanitize-html copies <style> text through unchanged and, as htmlparser2 ends the element at the first `</style`,
  // the first `</style>` after `<style>` is always its real end.
  const css: string[] = [];
  const body = sanitized.replace(/<style>([\s\S]*?)<\/style>/g, (_match, text: string) => {
    const safe = sanitizeStylesheet(text);
    if (safe) css.push(safe);
    return '';
  });
  return { body, css };
}
