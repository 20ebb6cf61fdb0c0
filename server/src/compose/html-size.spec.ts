import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { wordyPage } from '../../../test/support/pages';
import { ComposeService, type ComposeInput } from './compose.service';
import { compactStyle, GMAIL_CLIP_BYTES, minifyHtml } from './html-size';

const service = new ComposeService();

async function send(html: string, overrides: Partial<ComposeInput> = {}) {
  const mail = await service.compose({
    title: 'Big page',
    html,
    subjectPrefix: '',
    from: { address: 'docs@example.com' },
    to: [{ address: 'ann@example.com' }],
    cc: [],
    images: [],
    attachments: [],
    messageIdDomain: 'example.com',
    maxBytes: 5 * 1024 * 1024,
    ...overrides,
  });
  const received = await PostalMime.parse(mail.raw);
  return { mail, html: received.html ?? '', text: received.text ?? '' };
}

describe('Gmail clipping', () => {
  it('brings a 150 kB page of white space and unused CSS under the clipping limit, keeping every word', async () => {
    const page = wordyPage(320, { rules: 500, margins: true, media: false });
    expect(Buffer.byteLength(page)).toBeGreaterThan(140_000);
    const { mail, html, text } = await send(page);
    expect(mail.htmlBytes).toBe(Buffer.byteLength(mail.html, 'utf8'));
    expect(mail.htmlBytes).toBeLessThan(Buffer.byteLength(page) * 0.6);
    expect(mail.htmlBytes).toBeLessThan(GMAIL_CLIP_BYTES);
    expect(mail.clipped).toBe(false);
    expect(html).not.toMatch(/<style|unused-rule|<!--|class="(?!mailpage-page")|title=""|\n {2,}/);
    expect(html).toMatch(/<p style="[^"]*color:#172b4d[^"]*">Paragraph 0 says what changed in this part of the release, and why it matters to the people who use it\.<\/p>/);
    expect(text).toContain('Section 319');
    expect(text).toContain('Paragraph 319 says what changed');
  });

  it('says the mail will be clipped when the page is too large even when minified', async () => {
    const words = Array.from({ length: 3000 }, (_, i) => `<p>Decision ${i}: the team agreed on item number ${i * 7919} after a long review.</p>`).join('');
    const { mail, text } = await send(words);
    expect(mail.htmlBytes).toBeGreaterThan(GMAIL_CLIP_BYTES);
    expect(mail.clipped).toBe(true);
    expect(text).toContain('Decision 2999');
  });

  it('keeps media queries, the only CSS that cannot be inlined, and the classes they use', async () => {
    const { html } = await send('<style>.wide { color: red } a:hover { color: blue } @media (max-width: 600px) { .wide { width: 100% } }</style><p class="wide other">x</p>');
    expect(html).toMatch(/<style>\s*@media \(max-width: 600px\) \{\s*\.wide \{ width: 100% \}\s*\}\s*<\/style>/);
    expect(html).not.toMatch(/:hover/);
    expect(html).toMatch(/<p class="wide" style="[^"]*color:red">x<\/p>/);
  });
});

describe('minifyHtml', () => {
  it('drops comments, empty attributes and white space a browser ignores, and leaves <pre> as it is', () => {
    const html =
      '<!DOCTYPE html><html><head><meta charset="utf-8"></head>\n<body>\n  <!-- note -->\n  <div class="x" style="color: red; font-weight: bold;" title="">\n' +
      '    <p>Hello   <b>big</b>\n   world </p>\n    <pre>  keep\n    this  </pre>\n    <img src="cid:a" alt="">\n  </div>\n</body></html>';
    expect(minifyHtml(html)).toBe(
      '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div style="color:red;font-weight:bold"><p>Hello <b>big</b> world</p><pre>  keep\n    this  </pre><img src="cid:a" alt=""></div></body></html>',
    );
  });

  it('keeps the spaces between inline elements and escapes text it writes back', () => {
    expect(minifyHtml('<p><b>a</b> <i>b</i>\n<a href="https://x.example/?a=1&amp;b=2">c &lt;d&gt;</a></p>')).toBe(
      '<p><b>a</b> <i>b</i> <a href="https://x.example/?a=1&amp;b=2">c &lt;d&gt;</a></p>',
    );
  });

  it('writes a style attribute without optional spaces, leaving quoted text and functions alone', () => {
    expect(compactStyle("font-family: 'A  B', serif ; background-color : rgb(1, 2, 3);  margin: 0 0 0.8em 0;")).toBe(
      "font-family:'A  B', serif;background-color:rgb(1, 2, 3);margin:0 0 0.8em 0",
    );
  });
});

describe('compactStyle on arbitrary input', () => {
  /** The first version, one regular expression per character: the reference the faster one must agree with. */
  function reference(style: string): string {
    let out = '';
    let quote = '';
    let parens = 0;
    let inValue = false;
    for (const c of style) {
      if (quote) {
        out += c;
        if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '(') parens++;
      else if (c === ')') parens = Math.max(0, parens - 1);
      if (parens === 0 && (c === ';' || (c === ':' && !inValue))) {
        out = out.trimEnd() + c;
        inValue = c === ':';
        continue;
      }
      if (/\s/.test(c) && (out.endsWith(';') || out.endsWith(':') || out === '' || (parens === 0 && /\s$/.test(out)))) continue;
      out += /\s/.test(c) ? ' ' : c;
    }
    return out.trim().replace(/;+$/, '').replace(/;{2,}/g, ';');
  }

  it('writes every style exactly as before, white space, quotes, parentheses and odd characters included', () => {
    const alphabet = ['a', 'b', '-', ':', ';', ' ', '  ', '\t', '\n', '"', "'", '(', ')', ',', '#', '1', '\u00a0', '\u2028', '\ufeff', 'é', '😀', '\\'];
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 5000; n++) {
      const style = Array.from({ length: next() % 40 }, () => alphabet[next() % alphabet.length]).join('');
      expect(compactStyle(style), JSON.stringify(style)).toBe(reference(style));
    }
  });
});
