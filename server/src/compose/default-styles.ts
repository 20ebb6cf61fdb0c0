import juice from 'juice';

/**
 * What juice does with a stylesheet of plain type and class selectors, without juice: one pass over the start tags
 * instead of a DOM and a selector engine per rule. For the composer's default CSS on a page that brings no CSS of its
 * own, which is most pages.
 *
 * The output is meant to be juice's, byte for byte: juice's own CSS parser (mensch, through `juice.utils`) and
 * specificity are used, and its cascade, attribute and serialisation rules are followed as juice 11 has them.
 * Whatever this cannot vouch for (markup the sanitiser would not write, `var()`, code blocks that cross tags, a style
 * attribute juice fails on) gives null, and the caller runs juice.
 */
export type DefaultStyler = (document: string) => string | null;

/** The parts of juice used here: exported by juice, though not in its type definitions. */
interface Declaration {
  name: string;
  value: string;
  position: { start: { line: number; col: number } };
}
interface JuiceInternals {
  utils: {
    parseCSS(css: string): [string, Declaration[]][];
    getDefaultOptions(options: juice.Options): Record<string, unknown>;
  };
  Selector: new (text: string, styleAttribute?: boolean) => { specificity(): number[] };
  codeBlocks: Record<string, { start: string; end: string }>;
  excludedProperties: string[];
  nonVisualElements: string[];
  tableElements: string[];
  widthElements: string[];
  heightElements: string[];
  styleToAttribute: Record<string, string>;
}

const JUICE = juice as unknown as JuiceInternals;

/** One declaration of one rule (or of a style attribute), ranked as juice's Property#compareFunc ranks it. */
interface Prop {
  name: string;
  value: string;
  rank: number[];
  /** juice keeps several values of one property only when they come from the same selector. */
  source: object;
}

interface Rule {
  tag: string | null;
  className: string | null;
  matches: (name: string, className: string | undefined) => boolean;
  props: Prop[];
}

type Attribute = [name: string, value: string];
type Edit = Attribute[] | null;

const TYPE_SELECTOR = /^[a-z][a-z0-9]*$/;
const CLASS_SELECTOR = /^\.(-?[_a-zA-Z][\w-]*)$/;

const TAG = /<[^>]*>/g;
/** A start tag that dom-serializer would write back as it is: lower case, one space apart, no empty value, no `/>`. */
const PLAIN_START_TAG = /^<([a-z][a-z0-9]*)(?: [a-z][a-z0-9-]*(?:="[^"]+")?)*>$/;
const START_TAG = /^<([a-z][a-z0-9]*)((?:[ \t\n\r\f]+[^ \t\n\r\f"'>/=]+(?:="[^"]*")?)*)[ \t\n\r\f]*\/?>$/;
const ATTRIBUTE = /[ \t\n\r\f]+([^ \t\n\r\f"'>/=]+)(?:="([^"]*)")?/y;
const END_TAG = /^<\/[a-z][a-z0-9]*>$/;
const DOCTYPE = '<!DOCTYPE html>';
/** Elements whose content htmlparser2 does not read as markup, or reads by other rules (foreign content). */
const NOT_PLAIN = new Set(['script', 'style', 'title', 'textarea', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext', 'svg', 'math']);

/**
 * The styler for `css` inlined with juice `options`, or null when juice would do more with them than this module
 * reproduces (selectors other than `tag` and `.class`, at-rules and comments, which juice keeps in a <style>, or
 * options that change the inlining).
 */
export function compileDefaultStyles(css: string, options: juice.Options): DefaultStyler | null {
  const o = JUICE.utils.getDefaultOptions(options);
  const supported =
    !o.xmlMode &&
    o.applyStyleTags === true &&
    o.removeStyleTags === true &&
    !o.preserveImportant &&
    !o.inlineDuplicateProperties &&
    !o.decodeStyleAttributes &&
    !o.inlinePseudoElements &&
    (o.styleAttributeName === undefined || o.styleAttributeName === 'style') &&
    !o.extraCss &&
    !(o.preservedSelectors as string[] | undefined)?.length &&
    !/@|\/\*/.test(css);
  if (!supported) return null;

  const rules: Rule[] = [];
  for (const [selector, declarations] of JUICE.utils.parseCSS(css)) {
    const className = CLASS_SELECTOR.exec(selector)?.[1];
    if (!TYPE_SELECTOR.test(selector) && !className) return null;
    // juice's class match (css-select `~=`): any `\s` separates, case-sensitive.
    const classTest = className ? new RegExp(`(?:^|\\s)${className}(?:$|\\s)`) : null;
    // A new Selector per comma-separated part, as juice makes one: the parts are different sources.
    const source = new JUICE.Selector(selector);
    rules.push({
      tag: className ? null : selector,
      className: className ?? null,
      matches: classTest ? (_name, value) => value !== undefined && classTest.test(value) : (name) => name === selector,
      props: declarations.map((d) => prop(d, source, source.specificity())),
    });
  }

  const settings: Settings = {
    rules,
    tags: new Set(rules.flatMap((r) => (r.tag ? [r.tag] : []))),
    classNames: rules.flatMap((r) => (r.className ? [r.className] : [])),
    inlineSpecificity: new JUICE.Selector('<style>', true).specificity(),
    excluded: new Set(JUICE.excludedProperties),
    nonVisual: new Set(JUICE.nonVisualElements.map((name) => String(name).toLowerCase())),
    table: new Set(JUICE.tableElements.map((name) => String(name).toLowerCase())),
    dimensions: [
      ...(o.applyWidthAttributes ? [{ property: 'width', elements: new Set(JUICE.widthElements.map((n) => String(n).toLowerCase())) }] : []),
      ...(o.applyHeightAttributes ? [{ property: 'height', elements: new Set(JUICE.heightElements.map((n) => String(n).toLowerCase())) }] : []),
    ],
    tableAttributes: o.applyAttributesTableElements ? new Map(Object.entries(JUICE.styleToAttribute)) : new Map(),
    resolveVariables: o.resolveCSSVariables !== false,
    codeBlocks: Object.values(JUICE.codeBlocks).map(({ start, end }) => new RegExp(`${start}([\\S\\s]*?)${end}`, 'g')),
  };
  return (document) => inlineDefaults(document, settings);
}

interface Settings {
  rules: Rule[];
  tags: Set<string>;
  classNames: string[];
  inlineSpecificity: number[];
  excluded: Set<string>;
  nonVisual: Set<string>;
  table: Set<string>;
  dimensions: { property: string; elements: Set<string> }[];
  tableAttributes: Map<string, string>;
  resolveVariables: boolean;
  codeBlocks: RegExp[];
}

/** juice's Property: `!important` taken off the value and counted in the rank. */
function prop(d: Declaration, source: object, specificity: number[]): Prop {
  const important = /!important$/.test(d.value);
  const rank = [...specificity, d.position.start.line, d.position.start.col];
  if (important) rank[0] += 2;
  return { name: d.name, value: important ? d.value.replace(/\s*!important$/, '') : d.value, rank, source };
}

/** juice's utils.compareFunc. */
function compareRanks(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] > b[i] ? 1 : -1;
  return a.length - b.length;
}

function inlineDefaults(document: string, s: Settings): string | null {
  if (!codeBlocksRoundTrip(document, s.codeBlocks)) return null;
  const edits = new Map<string, Edit>();
  // Pages repeat the same start tags (`<p>`, `<td class="confluenceTd">`) hundreds of times.
  const written = new Map<string, string>();
  let out = '';
  let last = 0;
  TAG.lastIndex = 0;
  for (let m = TAG.exec(document); m; m = TAG.exec(document)) {
    const tag = m[0];
    if (document.indexOf('<', last) !== m.index) return null;
    out += document.slice(last, m.index);
    last = m.index + tag.length;
    if (tag.startsWith('</')) {
      if (!END_TAG.test(tag)) return null;
      out += tag;
      continue;
    }
    if (tag === DOCTYPE) {
      out += tag;
      continue;
    }
    const plain = PLAIN_START_TAG.exec(tag);
    if (plain && !NOT_PLAIN.has(plain[1]) && !s.tags.has(plain[1]) && !s.classNames.some((c) => tag.includes(c))) {
      out += tag;
      continue;
    }
    let styled = written.get(tag);
    if (styled === undefined) {
      const computed = styledStartTag(tag, edits, s);
      if (computed === null) return null;
      written.set(tag, (styled = computed));
    }
    out += styled;
  }
  if (document.includes('<', last)) return null;
  return out + document.slice(last);
}

/** The start tag with juice's edits for its element, written as dom-serializer writes it; null to leave it to juice. */
function styledStartTag(tag: string, edits: Map<string, Edit>, s: Settings): string | null {
  const start = START_TAG.exec(tag);
  if (!start || NOT_PLAIN.has(start[1])) return null;
  const name = start[1];
  const attributes: Attribute[] = [];
  ATTRIBUTE.lastIndex = 0;
  for (let a = ATTRIBUTE.exec(start[2]); a; a = ATTRIBUTE.exec(start[2])) {
    // htmlparser2 lower-cases attribute names and keeps the first of two: the sanitiser writes neither.
    if (/[A-Z]/.test(a[1]) || attributes.some(([n]) => n === a[1])) return null;
    attributes.push([a[1], a[2] ?? '']);
  }
  const className = attributes.find(([n]) => n === 'class')?.[1];
  const style = attributes.find(([n]) => n === 'style')?.[1] ?? '';
  const key = `${name} ${(className ?? '').length} ${className ?? ''}${style}`;
  let edit = edits.get(key);
  if (edit === undefined) {
    const computed = editFor(name, className, style, s);
    if (computed === 'juice') return null;
    edit = computed;
    edits.set(key, edit);
  }
  if (edit) {
    for (const [attribute, value] of edit) {
      const existing = attributes.find(([n]) => n === attribute);
      if (existing) existing[1] = value;
      else attributes.push([attribute, value]);
    }
  }
  return serializeStartTag(name, attributes);
}

/** Start tags as dom-serializer writes them with juice's options: no `/>`, an empty value as a bare name. */
function serializeStartTag(name: string, attributes: Attribute[]): string {
  let tag = `<${name}`;
  for (const [attribute, value] of attributes) tag += value === '' ? ` ${attribute}` : ` ${attribute}="${value.replace(/"/g, '&quot;')}"`;
  return `${tag}>`;
}

/**
 * juice swaps `{{…}}` and `<%…%>` for placeholders before parsing and back after serialising: a no-op for one that
 * sits inside a text node, unless the page already has text that looks like a placeholder or like its `=""` suffix.
 */
function codeBlocksRoundTrip(document: string, codeBlocks: RegExp[]): boolean {
  let seen = false;
  for (const block of codeBlocks) {
    block.lastIndex = 0;
    for (const m of document.matchAll(block)) {
      seen = true;
      const inTag = document.lastIndexOf('<', m.index) > document.lastIndexOf('>', m.index);
      if (inTag || /[<>]/.test(m[0]) || document.startsWith('=""', m.index + m[0].length)) return false;
    }
  }
  return !seen || !/JUICE_CODE_BLOCK_/i.test(document);
}

/**
 * The attributes juice sets on one element: `style` (rewritten from the cascade), then the dimension attributes,
 * then the table attributes; null when no rule matches; 'juice' when only juice knows the answer.
 */
function editFor(name: string, className: string | undefined, style: string, s: Settings): Edit | 'juice' {
  const matched = s.rules.filter((r) => r.matches(name, className));
  if (!matched.length || s.nonVisual.has(name)) return null;

  const cascade = new Map<string, Prop[]>();
  const add = (p: Prop) => {
    if (s.excluded.has(p.name)) return;
    const chain = cascade.get(p.name);
    if (!chain) cascade.set(p.name, [p]);
    else if (compareRanks(chain[0].rank, p.rank) !== 1) {
      // A win over another selector moves the property to the end, as juice's delete-and-set does.
      if (chain[0].source !== p.source) {
        cascade.delete(p.name);
        cascade.set(p.name, [p]);
      } else chain.unshift(p);
    }
  };
  if (style) {
    const parsed = JUICE.utils.parseCSS(`* { ${style} } `);
    // juice throws on a style attribute without a declaration it can read, or with one it reads without a name: let it.
    if (!parsed.length || parsed[0][1].some((d) => typeof d.name !== 'string')) return 'juice';
    const source = {};
    for (const d of parsed[0][1]) add(prop(d, source, s.inlineSpecificity));
  }
  for (const rule of matched) for (const p of rule.props) add(p);

  const props = [...cascade.values()].flat().sort((a, b) => compareRanks(a.rank, b.rank));
  // resolveCSSVariables rewrites var() and, with a "$" in a value, any function call; both are left to juice.
  if (s.resolveVariables && props.some((p) => /var\s*\(/i.test(p.value) || p.value.includes('$'))) return 'juice';
  const declarations = props
    .filter((p) => !(s.resolveVariables && p.name.startsWith('--')) && p.name !== 'content')
    .map((p) => `${p.name}: ${p.value.replace(/"/g, "'")};`)
    .join(' ');

  const edit: Attribute[] = declarations ? [['style', declarations]] : [];
  for (const { property, elements } of s.dimensions) {
    if (!elements.has(name)) continue;
    const value = cascade.get(property)?.[0].value;
    if (value === undefined) continue;
    if (/(px|auto)/.test(value)) edit.push([property, value.replace('px', '')]);
    else if (s.table.has(name) && /%/.test(value)) edit.push([property, value]);
  }
  if (s.table.has(name)) {
    for (const [property, chain] of cascade) {
      const attribute = s.tableAttributes.get(property);
      if (!attribute) continue;
      let value = chain[0].value;
      if (attribute === 'background' && value.startsWith('url(')) value = value.replace(/^url\((["'])?([^"']+)\1\)$/, '$2');
      if (/(linear|radial)-gradient\(/i.test(value)) continue;
      edit.push([attribute, value]);
    }
  }
  return edit;
}
