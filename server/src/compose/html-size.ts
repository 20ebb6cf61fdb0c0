import { DomUtils, parseDocument } from 'htmlparser2';

type Document = ReturnType<typeof parseDocument>;
type AnyNode = Document['children'][number];
type Element = Parameters<typeof DomUtils.getAttributeValue>[0];

/**
 * Gmail shows only the first 102 KB of a message's HTML and hides the rest behind "[Message clipped] View entire
 * message". Counted here in bytes of the HTML as sent (UTF-8), with 1 KB as 1000 bytes, which errs on the safe side.
 */
export const GMAIL_CLIP_BYTES = 102_000;

export function htmlByteLength(html: string): number {
  return Buffer.byteLength(html, 'utf8');
}

/** Where white space never shows: between these elements, and at the start and end of their content. */
const BLOCK = new Set([
  'html', 'head', 'body', 'meta', 'style', 'title', 'div', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'caption', 'colgroup', 'col', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'blockquote', 'hr', 'figure', 'figcaption', 'pre',
]);
/** Where white space is the content. */
const PRESERVE = new Set(['pre', 'textarea', 'script']);

/**
 * The same document in fewer bytes, for the mail's HTML part after its CSS has been inlined: comments dropped, runs
 * of white space collapsed to one space outside `<pre>` (and dropped where a browser ignores them), empty attributes
 * dropped (not `alt=""`, which marks a decorative image), `class` dropped unless a remaining `<style>` (media
 * queries) uses it or it is one of `keepClasses`, and `style` values written without optional spaces and the last
 * semicolon.
 */
export function minifyHtml(html: string, keepClasses: string[] = []): string {
  const doc = parseDocument(html);
  const styleText = DomUtils.getElementsByTagName('style', doc.children)
    .map((style) => DomUtils.textContent(style))
    .join('\n');
  const usedClasses = new Set([...keepClasses, ...[...styleText.matchAll(/\.(-?[_a-zA-Z][\w-]*)/g)].map((m) => m[1])]);
  minifyChildren(doc, false, usedClasses);
  // emptyAttrs: `alt=""` rather than a bare `alt`, which some older mail clients read differently.
  return DomUtils.getOuterHTML(doc, { encodeEntities: 'utf8', emptyAttrs: true });
}

function minifyChildren(parent: { children: AnyNode[] }, preserve: boolean, usedClasses: Set<string>): void {
  const parentIsBlock = !('name' in parent) || BLOCK.has((parent as Element).name);
  for (const node of [...parent.children]) {
    if (node.type === 'comment') DomUtils.removeElement(node);
  }
  const children = [...parent.children];
  children.forEach((node, i) => {
    if (node.type === 'text') {
      if (preserve) return;
      let data = node.data.replace(/[ \t\n\r\f]+/g, ' ');
      const blockBefore = i === 0 ? parentIsBlock : isBlockElement(children[i - 1]);
      const blockAfter = i === children.length - 1 ? parentIsBlock : isBlockElement(children[i + 1]);
      if (blockBefore) data = data.replace(/^ /, '');
      if (blockAfter) data = data.replace(/ $/, '');
      if (data) node.data = data;
      else DomUtils.removeElement(node);
    } else if ('attribs' in node) {
      minifyAttributes(node, usedClasses);
      minifyChildren(node, preserve || PRESERVE.has(node.name), usedClasses);
    }
  });
}

function isBlockElement(node: AnyNode | undefined): boolean {
  return !!node && 'name' in node && BLOCK.has(node.name);
}

function minifyAttributes(el: Element, usedClasses: Set<string>): void {
  for (const [name, value] of Object.entries(el.attribs)) {
    if (name === 'class') {
      const kept = value.split(/\s+/).filter((c) => usedClasses.has(c));
      if (kept.length) el.attribs.class = kept.join(' ');
      else delete el.attribs.class;
    } else if (name === 'style') {
      const style = compactStyle(value);
      if (style) el.attribs.style = style;
      else delete el.attribs.style;
    } else if (!value.trim() && name !== 'alt') delete el.attribs[name];
  }
}

/** `color: red; font-weight: bold;` → `color:red;font-weight:bold`; quoted text and parentheses are left as they are. */
export function compactStyle(style: string): string {
  // Runs for every style attribute of every mail: char codes instead of a regular expression per character.
  let out = '';
  let quote = 0;
  let parens = 0;
  let inValue = false;
  for (let i = 0; i < style.length; i++) {
    const c = style.charCodeAt(i);
    if (quote) {
      out += style[i];
      if (c === quote) quote = 0;
      continue;
    }
    if (c === QUOTE || c === APOSTROPHE) quote = c;
    else if (c === OPEN) parens++;
    else if (c === CLOSE) parens = Math.max(0, parens - 1);
    if (parens === 0 && (c === SEMICOLON || (c === COLON && !inValue))) {
      out = out.trimEnd() + style[i];
      inValue = c === COLON;
      continue;
    }
    if (isSpace(c)) {
      const last = out.charCodeAt(out.length - 1);
      if (out === '' || last === SEMICOLON || last === COLON || (parens === 0 && isSpace(last))) continue;
      out += ' ';
    } else out += style[i];
  }
  return out.trim().replace(/;+$/, '').replace(/;{2,}/g, ';');
}

const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const OPEN = 0x28;
const CLOSE = 0x29;
const SEMICOLON = 0x3b;
const COLON = 0x3a;

/** What `/\s/` matches. */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return /\s/.test(String.fromCharCode(c));
}
