/**
 * Small, allocation-light helpers over Confluence's export-view HTML: find `<img>` and `<a>` tags with their
 * attributes, and write changed attributes back, leaving every other byte of the page as Confluence wrote it.
 * Text and attribute values in export HTML have `<` escaped, so only real tags match.
 */

export type Attributes = Map<string, string>;

export interface FoundTag {
  tag: 'img' | 'a';
  attrs: Attributes;
}

// A tag with its attribute text; quoted values may hold `>`.
const TAG = /<(img|a)(\s(?:[^>"']|"[^"]*"|'[^']*')*?)?\s*(\/?)>/gi;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

export function parseAttributes(text: string): Attributes {
  const attrs: Attributes = new Map();
  for (const m of text.matchAll(ATTR)) {
    const name = m[1].toLowerCase();
    if (!attrs.has(name)) attrs.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

/** Every `<img>` and `<a>` tag, in order. */
export function findTags(html: string): FoundTag[] {
  return [...html.matchAll(TAG)].map((m) => ({ tag: m[1].toLowerCase() as 'img' | 'a', attrs: parseAttributes(m[2] ?? '') }));
}

/**
 * Calls `edit` for every `<img>` and `<a>`; where it returns attribute values, the tag is rewritten with them
 * (a value of `null` removes the attribute). Tags `edit` leaves alone keep their original text.
 */
export function rewriteTags(html: string, edit: (tag: FoundTag) => Record<string, string | null> | undefined): string {
  return html.replace(TAG, (whole, name: string, attrText: string | undefined, selfClosing: string) => {
    const tag = { tag: name.toLowerCase() as 'img' | 'a', attrs: parseAttributes(attrText ?? '') };
    const changes = edit(tag);
    if (!changes) return whole;
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) tag.attrs.delete(k);
      else tag.attrs.set(k, v);
    }
    const attrs = [...tag.attrs].map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
    return `<${name}${attrs}${selfClosing ? ' /' : ''}>`;
  });
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

export function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A link or image source that is neither absolute (with a scheme), nor protocol-relative, nor a fragment. */
export function isRelativeUrl(value: string): boolean {
  const v = value.trim();
  return v !== '' && !v.startsWith('#') && !v.startsWith('//') && !/^[a-z][a-z0-9+.-]*:/i.test(v);
}
