import { FOOTER_PLACEHOLDERS, type FooterPlaceholder } from '@mailpage/contract';
import { safePageUrl } from './macros';

/**
 * What a site's layout and the sender add around the page: a header (text, logo), the sender's personal message
 * above the page, a link back to the page and a footer below it. Built from escaped values only; the composer still
 * passes the result through the same sanitiser as the page.
 */
export interface MailFrame {
  headerText: string;
  /** `src` of the logo (`cid:<name>`), or null. */
  logoSrc: string | null;
  message: string | null;
  footerTemplate: string;
  includePageLink: boolean;
  values: FooterValues;
}

export interface FooterValues {
  sender: string;
  page: string;
  space: string;
  /** Absolute http(s) link to the page; null when unknown. */
  link: string | null;
  date: Date;
}

export const FRAME_CSS = `
.mailpage-header { margin: 0 0 16px 0; padding: 0 0 12px 0; border-bottom: 1px solid #dfe1e6; font-size: 18px; font-weight: bold; }
.mailpage-logo { max-height: 48px; vertical-align: middle; margin-right: 8px; }
.mailpage-message { margin: 0 0 16px 0; padding: 8px 12px; background-color: #f4f5f7; border-left: 3px solid #0052cc; }
.mailpage-page-link { margin: 16px 0 0 0; }
.mailpage-footer { margin: 24px 0 0 0; padding: 12px 0 0 0; border-top: 1px solid #dfe1e6; font-size: 12px; color: #505f79; }
`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Plain text as HTML: escaped, line breaks kept. */
function textHtml(text: string): string {
  return escapeHtml(text.replace(/\r\n?/g, '\n')).replace(/\n/g, '<br>');
}

/** "1 November 2026", in UTC: the day the mail was composed. */
export function footerDate(date: Date): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(date);
}

/**
 * The footer template as HTML: text escaped, line breaks kept, each known placeholder replaced by its value (escaped;
 * `{link}` as a link to the page, or nothing when the page has no link). Unknown `{words}` stay as written.
 */
export function renderFooter(template: string, values: FooterValues): string {
  const known = new Set<string>(FOOTER_PLACEHOLDERS);
  return template
    .split(/(\{[a-z]+\})/)
    .map((piece) => {
      const name = /^\{([a-z]+)\}$/.exec(piece)?.[1];
      if (!name || !known.has(name)) return textHtml(piece);
      return placeholder(name as FooterPlaceholder, values);
    })
    .join('');
}

function placeholder(name: FooterPlaceholder, v: FooterValues): string {
  switch (name) {
    case 'sender':
      return escapeHtml(v.sender);
    case 'page':
      return escapeHtml(v.page);
    case 'space':
      return escapeHtml(v.space);
    case 'date':
      return escapeHtml(footerDate(v.date));
    case 'link': {
      const url = safePageUrl(v.link);
      return url ? `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>` : '';
    }
  }
}

/** The HTML before and after the page. Empty strings when the frame adds nothing. */
export function frameHtml(frame: MailFrame): { before: string; after: string } {
  let before = '';
  if (frame.headerText.trim() || frame.logoSrc) {
    const logo = frame.logoSrc ? `<img class="mailpage-logo" src="${escapeHtml(frame.logoSrc)}" alt="${frame.headerText.trim() ? '' : 'Logo'}" height="48">` : '';
    before += `<div class="mailpage-header">${logo}${frame.headerText.trim() ? `<span>${escapeHtml(frame.headerText.trim())}</span>` : ''}</div>`;
  }
  if (frame.message?.trim()) before += `<div class="mailpage-message"><p>${textHtml(frame.message.trim())}</p></div>`;
  let after = '';
  const link = safePageUrl(frame.values.link);
  if (frame.includePageLink && link) after += `<p class="mailpage-page-link"><a href="${escapeHtml(link)}">Open this page in Confluence</a></p>`;
  if (frame.footerTemplate.trim()) after += `<div class="mailpage-footer"><p>${renderFooter(frame.footerTemplate.trim(), frame.values)}</p></div>`;
  return { before, after };
}
