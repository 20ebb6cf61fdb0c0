import { beforeAll, describe, expect, it } from 'vitest';
import { prng, sanitizedPage, w1PageHtml, wordyPage } from '../../../test/support/pages';
import { DEMO_PAGES } from '../local/sandbox/demo-site';
import { inlineCss } from './compose.service';
import { minifyHtml, minifyHtmlDom, minifyHtmlStreaming } from './html-size';

// minifyHtml is one pass over the parser's events; minifyHtmlDom, the DOM version it replaced, is the reference. The
// two are held to the same string for the pages the server sends and for HTML made to trip the one-pass version up.

const PAGE_CLASS = 'mailpage-page';

/**
 * The streaming output equals the DOM version's. `streams` (the default: no <svg> or <math>) also requires that the
 * streaming pass handled the page itself rather than leaving it to the DOM version.
 */
function expectSame(html: string, keepClasses: string[] = [PAGE_CLASS], label = html.slice(0, 200), streams = !/<(svg|math)/i.test(html)): void {
  const reference = minifyHtmlDom(html, keepClasses);
  const streamed = minifyHtmlStreaming(html, keepClasses);
  if (streams) expect(streamed, label).not.toBeNull();
  if (streamed !== null) expect(streamed, label).toBe(reference);
  expect(minifyHtml(html, keepClasses), label).toBe(reference);
}

/** What render() hands to minifyHtml: macros made static, sanitised, styled (by juice when there is page CSS). */
function styled(html: string, pageCss: string[] = []): string {
  const page = sanitizedPage(html);
  return inlineCss(page.body, [...page.css, ...pageCss]);
}

/** Media queries are the only CSS that stays in a <style>, and its classes the only ones kept besides the wrapper's. */
const MEDIA_CSS = [
  '.confluenceTd { color: red } @media (max-width: 600px) { .confluenceTd, .mailpage-box { padding: 0 } .table-wrap { width: 100% } .unused-x { margin: 0 } }',
];

describe('minifyHtml in one pass writes what the DOM version writes', () => {
  let w1Page = '';
  beforeAll(async () => {
    w1Page = await w1PageHtml();
  });

  it("for the benchmark's 40 kB Confluence page (W1), styled as render() styles it, with and without media queries", () => {
    const page = styled(w1Page);
    expect(page.length).toBeGreaterThan(60_000);
    expectSame(page);
    const withMedia = styled(w1Page, MEDIA_CSS);
    expect(withMedia).toMatch(/<style>[^<]*@media/);
    expectSame(withMedia);
    expect(minifyHtml(withMedia, [PAGE_CLASS])).toMatch(/class="table-wrap"/);
  });

  it.each(DEMO_PAGES.map((page) => [page.title, page] as const))('for the demo page %s', (_title, page) => {
    const html = page.exportView('https://example.atlassian.net/wiki');
    expectSame(styled(html));
    expectSame(styled(html, MEDIA_CSS));
  });

  it('for the inputs of html-size.spec.ts', () => {
    const inputs = [
      wordyPage(30, { rules: 50, margins: false, media: true }),
      styled(wordyPage(30, { rules: 50, margins: false, media: true })),
      '<style>.wide { color: red } a:hover { color: blue } @media (max-width: 600px) { .wide { width: 100% } }</style><p class="wide other">x</p>',
      styled('<p class="wide other">x</p>', ['.wide { color: red } a:hover { color: blue } @media (max-width: 600px) { .wide { width: 100% } }']),
      styled(Array.from({ length: 300 }, (_, i) => `<p>Decision ${i}: the team agreed on item number ${i * 7919} after a long review.</p>`).join('')),
      '<!DOCTYPE html><html><head><meta charset="utf-8"></head>\n<body>\n  <!-- note -->\n  <div class="x" style="color: red; font-weight: bold;" title="">\n' +
        '    <p>Hello   <b>big</b>\n   world </p>\n    <pre>  keep\n    this  </pre>\n    <img src="cid:a" alt="">\n  </div>\n</body></html>',
      '<p><b>a</b> <i>b</i>\n<a href="https://x.example/?a=1&amp;b=2">c &lt;d&gt;</a></p>',
    ];
    for (const html of inputs) {
      expectSame(html);
      expectSame(html, []);
    }
  });

  it.each([
    ['nested <pre>', '<div> <pre> a  <pre> b\n </pre>  c <b> d  </b></pre> e </div>'],
    ['<pre> inside inline and block', '<p> x <span> <pre>\n\n y </pre> </span> z </p><pre><!-- c -->  a  <!-- d -->  b  </pre>'],
    ['white space between inline and block elements', '<div> <span>a</span> <p> b </p> <b>c</b>\n<div>\n</div> d <i> e </i> </div>'],
    ['white space at the edges of blocks and inline elements', '<td>  a  </td><span>  b  </span><li> <b> c </b> </li>'],
    ['white space only', '   \n\t  '],
    ['comments between text', '<p>a <!-- x --> b</p><div><!--x--> a <!--y--></div><p>a<!--x--><!--y-->b</p><p> <!--x--> </p>'],
    ['comments next to blocks', '<div>a <!-- x --><p>b</p><!-- y --> c</div><!-- z --> d <!-- w -->'],
    ['an unclosed comment', '<p>a <!-- never closed <p>b</p>'],
    ['entities', '<p>&amp; &lt; &gt; &quot; &apos; &nbsp; &#160; &#x3C; &copy; &unknown; & ; &amp &lt &#0; &#x110000; &#128512;</p>'],
    ['no-break spaces and other white space', '<p> &nbsp; a\u00a0 b \f c \r\n d \u2028 e \u3000 f\v</p>'],
    ['attributes with quotes and ampersands', `<a title='say "hi" & bye' href="?a=1&b=2&amp;c=3&copy=4" data-x="it's">x</a><p title="&quot;&apos;&lt;&gt;&nbsp;">y</p>`],
    ['unquoted and valueless attributes', '<td width=50% nowrap align= center valign>x</td><input disabled value=a&amp;b>'],
    ['empty attributes', '<td width="" align=" " valign title="\u00a0" lang="\n">x</td><img src="" alt=""><img alt><img alt="  ">'],
    ['class and style attributes', '<p class="" style="">a</p><p class=" " style=" ; ">b</p><p style="color : red ;; ; margin:0;">c</p><p class="\u00a0x">d</p>'],
    ['duplicate, upper-case, numeric and odd attribute names', '<p class="a" CLASS="b" Title="x" title="y" 1="one" __proto__="p" constructor="c" a"b="q" 0=zero>x</p>'],
    [
      'classes used and unused by media queries',
      '<style>@media (max-width:600px){.a{x:y} .b-c .d_e{} ._f, .-g {}} .h\\:i{}</style><p class=" a  b-c  z d_e _f -g h mailpage-page ">x</p><p class="z">y</p>',
    ],
    ['two <style> elements and one in the body', '<style>.a{}</style><p class="a b c">x</p><style>.b\n{}</style><div><style>  .c  { }  </style></div>'],
    ['a class selector across two <style> elements', '<style>.</style><style>a{}</style><p class="a">x</p>'],
    ['style text that is not a <style>', '<textarea>.a{}</textarea><title>.b{}</title><p title=".c">.d{}</p><p class="a b c d">x</p>'],
    ['<br> and void elements', '<p>a <br> b<br/>c <br />d</br>e</p><hr> x <hr/><img src="a"> y <col><input><wbr><source><area><link><meta><embed><param><track><keygen>'],
    ['void elements given content or end tags', '<p><img>a</img><br>b</br><input>c</input><hr>d</hr></p>'],
    ['text directly in body and at the top', 'hello <b>x</b> world<body> a <div> b </div> c </body> d'],
    ['unclosed tags', '<div><p>a<p>b<div>c<span>d<b>e'],
    ['implied end tags', '<table><tr><td>a<td>b<tr><th>c</table><ul><li>a<li>b</ul><dl><dt>a<dd>b<dt>c</dl><select><option>a<option>b</select>'],
    ['misnested and stray end tags', '<b><i>x</b>y</i>z</p>a</div>b</span>c</br>d</p></p>'],
    ['nested forms', '<form><p>a<form class="x"><p>b</form>c</form>d'],
    ['self-closing tags', '<div/>a<span/>b<p/>c</div><br/><img/>'],
    ['raw-text elements', '<style> a  >  b { x: "&amp;" } </style><script> if (a < b && c) { x  =  "</p>" } </script><xmp> <b> &amp; </xmp><noscript> <b> &amp; </b> &lt; </noscript>'],
    ['RCDATA elements', '<textarea>  a &amp; <b>  \n </textarea><title> x &lt; y </title>'],
    ['iframe, noembed, noframes', '<iframe> <p> &amp; </iframe><noembed> a <b> </noembed><noframes> x &amp; </noframes>'],
    ['plaintext', '<p>a <plaintext> <b> &amp; </b>  x'],
    ['doctype, processing instructions and CDATA', '<!doctype html><?xml version="1.0"?> a <![CDATA[ b ]]> c <!DOCTYPE x> d <!x y> e'],
    ['text around a doctype', '<div> a <!DOCTYPE html> b </div>'],
    ['<image> and upper-case tags', '<IMAGE SRC="a"><P CLASS="a">x</P><DIV  > y </DIV>'],
    ['stray less-than signs', '<p>a < b <= c <> d </ e <1 f < /p> g <!> h </></p>'],
    ['attributes without a tag end', '<p title="a'],
    ['a tag without an end', '<p>x<div class'],
    ['a lone less-than sign at the end', 'x <'],
    ['an empty page', ''],
    ['SVG, which is left to the DOM version', '<p class="a"> x <svg viewBox="0 0 1 1"><clipPath id="c"/><style>.a{}</style><text>&amp; y</text></svg> z</p>'],
    ['MathML, which is left to the DOM version', '<p> x <math><mi>&lt;</mi><![CDATA[ y ]]></math> z</p>'],
  ])('for %s', (_case, html) => {
    expectSame(html);
    expectSame(html, []);
    expectSame(html, ['a', '', 'x y']);
  });

  it('leaves SVG and MathML to the DOM version', () => {
    expect(minifyHtmlStreaming('<p>x</p><svg></svg>')).toBeNull();
    expect(minifyHtmlStreaming('<p>x</p><MATH></MATH>')).toBeNull();
    expect(minifyHtml('<p> x </p><svg><circle r="1"/></svg>')).toBe('<p>x</p><svg><circle r="1"/></svg>');
  });

  it('for 600 random fragments of odd HTML', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const { html, keep } = randomHtml(seed);
      expectSame(html, keep, `seed ${seed}: ${html}`);
    }
  }, 30_000);

  it('for 300 random slices and splices of the styled W1 page', () => {
    const page = styled(w1Page, MEDIA_CSS);
    const random = prng(99);
    const at = () => Math.floor(random() * page.length);
    for (let n = 0; n < 300; n++) {
      const a = at();
      const b = Math.min(page.length, a + Math.floor(random() * 4000));
      const c = at();
      const html = n % 2 ? page.slice(a, b) : page.slice(0, a) + page.slice(c, c + 2000) + page.slice(b);
      expectSame(html, [PAGE_CLASS], `slice ${n}`);
    }
  }, 30_000);
});

const TAGS = [
  'div', 'p', 'span', 'b', 'i', 'a', 'pre', 'code', 'h1', 'h2', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'caption', 'colgroup', 'thead', 'tbody',
  'tr', 'th', 'td', 'blockquote', 'figure', 'figcaption', 'textarea', 'script', 'style', 'title', 'noscript', 'xmp', 'iframe', 'form', 'select',
  'option', 'button', 'html', 'head', 'body', 'section', 'em', 'strong', 'font', 'center', 'svg', 'math', 'template', 'P', 'Div',
];
const VOIDS = ['br', 'hr', 'img', 'col', 'meta', 'input', 'wbr', 'link', 'image', 'BR'];
const TEXTS = [
  'a', 'word', ' ', '  ', '\n', '\n    ', '\t', '\r\n', '\f', ' x ', 'two  words', '&amp;', '&lt;', '&gt;', '&nbsp;', '\u00a0', '&#160;', '&quot;', '"', "'",
  '&', '<', '>', '< ', '&copy;', '&unknown;', '\u2028', 'é', '😀', '.a', '.b-c', '{', '}', '=', '/',
];
const CLASSES = ['a', 'b-c', 'd_e', 'zz', PAGE_CLASS, '', ' ', 'a  zz', ' b-c ', 'A', '-g', '\u00a0a', 'x y'];
const STYLES = ['color: red', 'color:red;', ' ; ', '', 'font-family: "A  B", serif ;', "content: 'a;b'", 'margin : 0  0', 'x:url( "a" )', 'a&b: "q"'];

/** A fragment of HTML mixing everything minifyHtml treats differently, well-formed or not. */
function randomHtml(seed: number): { html: string; keep: string[] } {
  const random = prng(seed);
  const pick = <T,>(list: T[]): T => list[Math.floor(random() * list.length)];
  const quoted = (value: string) => pick([`"${value.replace(/"/g, '&quot;')}"`, `'${value.replace(/'/g, '&#39;')}'`, value.replace(/[\s"'>]/g, '') || '""']);
  const attributes = (): string => {
    let out = '';
    for (let n = Math.floor(random() * 4); n > 0; n--) {
      const r = random();
      if (r < 0.25) out += ` class=${quoted(pick(CLASSES))}`;
      else if (r < 0.45) out += ` style=${quoted(pick(STYLES))}`;
      else if (r < 0.55) out += ` alt=${quoted(pick(['', ' ', 'x']))}`;
      else if (r < 0.65) out += ` ${pick(['title', 'width', 'href', 'data-x', 'ALIGN', '1', '__proto__'])}`;
      else out += ` ${pick(['title', 'width', 'href', 'data-x', 'ALIGN', 'class', 'style'])}=${quoted(pick(TEXTS) + pick(TEXTS))}`;
    }
    return out;
  };
  const content = (depth: number): string => {
    let html = '';
    for (let n = Math.floor(random() * 5); n > 0; n--) {
      const r = random();
      if (r < 0.35 || depth > 5) html += pick(TEXTS) + (random() < 0.5 ? pick(TEXTS) : '');
      else if (r < 0.42) html += `<!--${pick(TEXTS)}-->`;
      else if (r < 0.5) html += `<${pick(VOIDS)}${attributes()}${pick(['', '/', ' /'])}>`;
      else if (r < 0.53) html += pick(['</p>', '</br>', '</div>', '</b>', '</td>', '<!DOCTYPE html>', '<?x y?>', '<![CDATA[ c ]]>', '</', '<!-- open']);
      else if (r < 0.57) html += `<style>${pick(['.a{}', '@media (x) { .b-c { } }', ' .d_e , .-g ', '.A', ''])}${pick(TEXTS)}</style>`;
      else {
        const tag = pick(TAGS);
        const close = random() < 0.85 ? `</${random() < 0.1 ? tag.toUpperCase() : tag}>` : '';
        html += `<${tag}${attributes()}>${content(depth + 1)}${close}`;
      }
    }
    return html;
  };
  const keep = random() < 0.3 ? [] : random() < 0.8 ? [PAGE_CLASS] : [PAGE_CLASS, 'zz', ''];
  return { html: content(0), keep };
}
