import { DomUtils, type Handler, Parser, parseDocument } from 'htmlparser2';

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
 *
 * One pass over htmlparser2's parser events, writing as it reads: no DOM is built, walked and serialised again. It
 * writes exactly what {@link minifyHtmlDom} writes (html-minify.spec.ts holds it to that); a page with `<svg>` or
 * `<math>`, whose foreign content the serialiser writes in XML style, goes to the DOM version instead.
 */
export function minifyHtml(html: string, keepClasses: string[] = []): string {
  return minifyHtmlStreaming(html, keepClasses) ?? minifyHtmlDom(html, keepClasses);
}

/** The one-pass {@link minifyHtml}, or null for a page it leaves to {@link minifyHtmlDom}. */
export function minifyHtmlStreaming(html: string, keepClasses: string[] = []): string | null {
  return new StreamingMinifier().run(html, keepClasses);
}

/** The DOM version of {@link minifyHtml}: the reference the streaming one is held to, and its fallback. */
export function minifyHtmlDom(html: string, keepClasses: string[] = []): string {
  const doc = parseDocument(html);
  const styleText = DomUtils.getElementsByTagName('style', doc.children)
    .map((style) => DomUtils.textContent(style))
    .join('\n');
  const usedClasses = usedClassSet(styleText, keepClasses);
  minifyChildren(doc, false, usedClasses);
  // emptyAttrs: `alt=""` rather than a bare `alt`, which some older mail clients read differently.
  return DomUtils.getOuterHTML(doc, { encodeEntities: 'utf8', emptyAttrs: true });
}

function usedClassSet(styleText: string, keepClasses: string[]): Set<string> {
  return new Set([...keepClasses, ...[...styleText.matchAll(/\.(-?[_a-zA-Z][\w-]*)/g)].map((m) => m[1])]);
}

function keptClasses(value: string, usedClasses: Set<string>): string[] {
  return value.split(/\s+/).filter((c) => usedClasses.has(c));
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
      const kept = keptClasses(value, usedClasses);
      if (kept.length) el.attribs.class = kept.join(' ');
      else delete el.attribs.class;
    } else if (name === 'style') {
      const style = compactStyle(value);
      if (style) el.attribs.style = style;
      else delete el.attribs.style;
    } else if (!value.trim() && name !== 'alt') delete el.attribs[name];
  }
}

// What dom-serializer (getOuterHTML with encodeEntities 'utf8', as minifyHtmlDom calls it) does, for the streaming pass.
/** Text directly in these is written as it is, not escaped. */
const UNENCODED = new Set(['style', 'script', 'xmp', 'iframe', 'noembed', 'noframes', 'plaintext', 'noscript']);
/** No end tag is written for these (the parser ends them at once: they never have content). */
const VOID = new Set(['area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Elements whose content the parser reads and the serialiser writes as XML-like foreign content: left to the DOM version. */
const FOREIGN = new Set(['svg', 'math']);

/** Thrown out of the parser's callbacks when the streaming pass cannot write what the DOM version would. */
const FALL_BACK = new Error('minifyHtml: left to the DOM version');

/**
 * minifyHtmlDom as one pass over the parser's events. The DOM handler's rules are followed to the letter: text that
 * arrives in pieces is one node, a comment ends a text node (two texts around a comment stay two nodes), and the
 * parser's implied end tags are the DOM's. A text node is written when the next sibling that is not a comment is known
 * (an element, another text, a doctype) or its parent ends, as the white space at its edges depends on it. Class
 * attributes are decided at the end, when every `<style>` has been read: the output is kept in pieces around them.
 */
class StreamingMinifier implements Partial<Handler> {
  /** The output since the last class attribute. */
  private out = '';
  /** The output before each class attribute, and the attribute's value. */
  private readonly pieces: string[] = [];
  private readonly classValues: string[] = [];
  /** The open elements, innermost last. */
  private readonly stack: string[] = [];
  /** How many of them are <pre>, <textarea> or <script>. */
  private preserved = 0;
  /** The text node waiting to be written, with whether its previous sibling (or parent, when it has none) is a block. */
  private text: string | null = null;
  private textBlockBefore = false;
  /** Whether the parser's next text goes on with that node (no comment since). */
  private textOpen = false;
  /** Whether a text node starting now would have a block before it. */
  private blockBefore = true;
  /** The text of each <style>, in document order. */
  private readonly styles: string[] = [];
  /** Style attribute values, and the attribute as written. */
  private readonly styleAttributes = new Map<string, string>();

  run(html: string, keepClasses: string[]): string | null {
    try {
      new Parser(this).end(html);
    } catch (error) {
      if (error === FALL_BACK) return null;
      throw error;
    }
    if (this.text !== null) this.writeText(true);
    const { pieces, classValues } = this;
    if (!pieces.length) return this.out;
    const usedClasses = usedClassSet(this.styles.join('\n'), keepClasses);
    const written = new Map<string, string>();
    let result = '';
    for (let i = 0; i < pieces.length; i++) {
      const value = classValues[i];
      let attribute = written.get(value);
      if (attribute === undefined) {
        const kept = keptClasses(value, usedClasses);
        attribute = kept.length ? ` class="${escapeAttribute(kept.join(' '))}"` : '';
        written.set(value, attribute);
      }
      result += pieces[i] + attribute;
    }
    return result + this.out;
  }

  onopentag(name: string, attribs: Record<string, string>): void {
    if (this.text !== null) this.writeText(BLOCK.has(name));
    this.textOpen = false;
    const { stack } = this;
    if (FOREIGN.has(name) || (stack.length && stack[stack.length - 1] === 'style')) throw FALL_BACK;
    let tag = '<' + name;
    // The order of Object.entries, as the DOM version's loop and the serialiser's `for in` have it.
    for (const key of Object.keys(attribs)) {
      const value = attribs[key];
      if (key === 'class') {
        this.pieces.push(this.out + tag);
        this.classValues.push(value);
        this.out = tag = '';
      } else if (key === 'style') {
        // A page's style attributes are mostly the same few: each is compacted and escaped once.
        let style = this.styleAttributes.get(value);
        if (style === undefined) {
          const compacted = compactStyle(value);
          style = compacted ? ' style="' + escapeAttribute(compacted) + '"' : '';
          this.styleAttributes.set(value, style);
        }
        tag += style;
      } else if (key === 'alt' || value.trim()) tag += ' ' + key + '="' + escapeAttribute(value) + '"';
    }
    this.out += tag + '>';
    stack.push(name);
    if (PRESERVE.has(name)) this.preserved++;
    if (name === 'style') this.styles.push('');
    this.blockBefore = BLOCK.has(name);
  }

  onclosetag(): void {
    const { stack } = this;
    // The DOM handler ends the innermost element, whatever the name: the parser has closed the ones in between. The
    // parser also ends a tag cut off by the end of the page, which the DOM never got: with nothing open, the handler
    // pops its root, which changes nothing as nothing comes after.
    if (!stack.length) return;
    const name = stack[stack.length - 1];
    if (this.text !== null) this.writeText(BLOCK.has(name));
    this.textOpen = false;
    stack.pop();
    if (PRESERVE.has(name)) this.preserved--;
    if (!VOID.has(name)) this.out += '</' + name + '>';
    this.blockBefore = BLOCK.has(name);
  }

  ontext(data: string): void {
    const { stack } = this;
    if (stack.length && stack[stack.length - 1] === 'style') this.styles[this.styles.length - 1] += data;
    if (this.textOpen) {
      this.text += data;
      return;
    }
    if (this.text !== null) this.writeText(false);
    this.text = data;
    this.textBlockBefore = this.blockBefore;
    this.textOpen = true;
    this.blockBefore = false;
  }

  oncomment(): void {
    this.textOpen = false;
  }

  oncommentend(): void {
    this.textOpen = false;
  }

  oncdatastart(): void {
    // Only in foreign content, which has fallen back already.
    throw FALL_BACK;
  }

  onprocessinginstruction(_name: string, data: string): void {
    if (this.text !== null) this.writeText(false);
    this.textOpen = false;
    this.out += '<' + data + '>';
    this.blockBefore = false;
  }

  /** Writes the waiting text node, `blockAfter` saying whether its next sibling (or parent, when last) is a block. */
  private writeText(blockAfter: boolean): void {
    let data = this.text!;
    this.text = null;
    if (!this.preserved) {
      if (COLLAPSIBLE.test(data)) data = data.replace(/[ \t\n\r\f]+/g, ' ');
      if (this.textBlockBefore && data.charCodeAt(0) === SPACE) data = data.slice(1);
      if (blockAfter && data.charCodeAt(data.length - 1) === SPACE) data = data.slice(0, -1);
    }
    const { stack } = this;
    this.out += stack.length && UNENCODED.has(stack[stack.length - 1]) ? data : escapeText(data);
  }
}

const SPACE = 0x20;
/** Whether `/[ \t\n\r\f]+/g` → `' '` changes anything. */
const COLLAPSIBLE = /[\t\n\r\f]| {2}/;

/** entities' escapeText: what the serialiser does to text with encodeEntities 'utf8'. */
function escapeText(data: string): string {
  return /[&<>\u00a0]/.test(data) ? data.replace(/[&<>\u00a0]/g, (c) => ESCAPES[c]) : data;
}

/** entities' escapeAttribute: what the serialiser does to an attribute value with encodeEntities 'utf8'. */
function escapeAttribute(data: string): string {
  return /["&\u00a0]/.test(data) ? data.replace(/["&\u00a0]/g, (c) => ESCAPES[c]) : data;
}

const ESCAPES: Record<string, string> = { '"': '&quot;', '&': '&amp;', '<': '&lt;', '>': '&gt;', '\u00a0': '&nbsp;' };

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
