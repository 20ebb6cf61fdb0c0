/**
 * CSS from untrusted page HTML, reduced to what cannot fetch anything or run anything.
 *
 * A declaration is dropped whole when it could load a resource (url(), image-set(), image(), cross-fade(), element(),
 * @import), run code (expression(), behavior, -moz-binding, javascript:) or hide either from this check (backslash
 * escapes such as `u\72l(`). Comments are removed before checking, so a comment cannot split a keyword in two.
 * In a stylesheet only plain rules and @media blocks are kept; every other at-rule (@import, @font-face, @charset,
 * @namespace, @keyframes, @supports, @-moz-document ...) is dropped.
 */

const DANGEROUS =
  /url\s*\(|image-set\s*\(|(?:^|[^a-z0-9-])image\s*\(|cross-fade\s*\(|element\s*\(|expression\s*\(|@import|behavior|-moz-binding|-o-link|javascript:|vbscript:|livescript:|progid:|[\\<{}]/i;
const PROPERTY = /^-{0,2}[a-z][a-z0-9-]*$/i;
const UNSAFE_SELECTOR = /[\\<{}@;]|url\s*\(|expression\s*\(|javascript:/i;
const MAX_MEDIA_DEPTH = 2;

/** A `style` attribute value; '' when nothing safe is left. */
export function sanitizeStyleAttribute(style: string): string {
  return sanitizeDeclarations(stripComments(style));
}

/** The text of a `<style>` element; '' when nothing safe is left. Never contains `<`, so it cannot close the element. */
export function sanitizeStylesheet(css: string): string {
  return sanitizeRules(stripComments(css), 0);
}

/**
 * Only the safe `@media` blocks of a stylesheet: what is left in a `<style>` after every other rule has been
 * inlined. Pseudo-class rules (`a:hover`) and the like are dropped: most mail clients ignore them, and they cost bytes.
 */
export function mediaQueriesOnly(css: string): string {
  return sanitizeRules(stripComments(css), 0, true);
}

function stripComments(css: string): string {
  return css.replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '');
}

function sanitizeDeclarations(block: string): string {
  const kept: string[] = [];
  for (const declaration of splitOutside(block, ';')) {
    const colon = declaration.indexOf(':');
    if (colon < 0) continue;
    const property = declaration.slice(0, colon).trim();
    const value = declaration.slice(colon + 1).replace(/\s+/g, ' ').trim();
    if (!PROPERTY.test(property) || !value || DANGEROUS.test(declaration) || !balanced(value)) continue;
    // Escaped in an attribute as &lt; &gt; &amp;, whose ";" juice 11 reads as the end of the declaration and then throws
    // (a 500 for a page with style="font-family: AT&T Sans"). No value a mail needs has them.
    if (/[<>&]/.test(value)) continue;
    const quoted = singleQuoted(value);
    if (quoted === null) continue;
    kept.push(`${property.toLowerCase()}: ${quoted}`);
  }
  return kept.join('; ');
}

function sanitizeRules(css: string, depth: number, mediaOnly = false): string {
  const out: string[] = [];
  let i = 0;
  while (i < css.length) {
    const stop = scanTo(css, i, '{;');
    if (stop < 0) break; // a trailing fragment without a block says nothing
    const prelude = css.slice(i, stop).replace(/\s+/g, ' ').replace(/<!--|-->/g, '').trim();
    if (css[stop] === ';') {
      i = stop + 1; // statement at-rules (@import, @charset, @namespace) and stray text
      continue;
    }
    const end = scanTo(css, stop + 1, '}', true);
    if (end < 0) break; // unbalanced: drop the rest rather than guess where it ends
    const body = css.slice(stop + 1, end);
    i = end + 1;
    if (prelude.startsWith('@')) {
      if (/^@media[\s(]/i.test(prelude) && depth < MAX_MEDIA_DEPTH && !DANGEROUS.test(prelude)) {
        const inner = sanitizeRules(body, depth + 1);
        if (inner) out.push(`${prelude} {\n${inner}\n}`);
      }
      continue;
    }
    if (mediaOnly || !prelude || UNSAFE_SELECTOR.test(prelude)) continue;
    const declarations = sanitizeDeclarations(body);
    if (declarations) out.push(`${prelude} { ${declarations} }`);
  }
  return out.join('\n');
}

/**
 * Index of the first of `stops` at nesting depth 0 outside strings, or -1. With `nested`, `{`/`}` pairs inside are
 * skipped, so the result is the matching closing brace.
 */
function scanTo(css: string, from: number, stops: string, nested = false): number {
  let depth = 0;
  let parens = 0;
  let quote = '';
  for (let i = from; i < css.length; i++) {
    const c = css[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(') parens++;
    else if (c === ')') parens = Math.max(0, parens - 1);
    else if (nested && c === '{') depth++;
    else if (depth === 0 && parens === 0 && stops.includes(c)) return i;
    else if (nested && c === '}') depth--;
  }
  return -1;
}

function splitOutside(block: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (;;) {
    const at = scanTo(block, start, separator);
    if (at < 0) break;
    parts.push(block.slice(start, at));
    start = at + 1;
  }
  parts.push(block.slice(start));
  return parts;
}

/**
 * The value with its strings in single quotes, or null when a double-quoted string holds a single quote (without
 * backslashes, which are refused, it cannot be written in single quotes). juice 11 throws on an element that both
 * matches a stylesheet rule and has a double quote in its style attribute; this keeps every quote single.
 */
function singleQuoted(value: string): string | null {
  let out = '';
  let quote = '';
  for (const c of value) {
    if (quote) {
      if (c === quote) {
        quote = '';
        out += "'";
      } else if (c === "'") return null;
      else out += c;
    } else if (c === '"') {
      quote = c;
      out += "'";
    } else out += c;
  }
  return out;
}

/** Quotes closed and parentheses balanced; anything else is a declaration a browser would read differently. */
function balanced(value: string): boolean {
  let parens = 0;
  let quote = '';
  for (const c of value) {
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') parens++;
    else if (c === ')' && --parens < 0) return false;
  }
  return !quote && parens === 0;
}
