/**
 * Constructs a site admin's custom mail CSS may not use: each can load something from elsewhere or run code in some
 * mail client. The composer sanitises the CSS again when it inlines it; refusing them at save time tells the admin.
 */
const FORBIDDEN: { test: RegExp; name: string }[] = [
  { test: /expression\s*\(/i, name: 'expression(' },
  { test: /url\s*\(\s*['"]?\s*javascript:/i, name: 'url(javascript:' },
  { test: /javascript:/i, name: 'javascript:' },
  { test: /@import/i, name: '@import' },
  { test: /behavior\s*:|\bbehavior\b/i, name: 'behavior' },
  { test: /-moz-binding/i, name: '-moz-binding' },
  { test: /<\/?\s*style|<!--|-->/i, name: 'an HTML tag' },
  { test: /\\/, name: 'a backslash escape' },
];

/** The first forbidden construct in the CSS (comments removed first, so one cannot split a keyword), or null. */
export function forbiddenCssConstruct(css: string): string | null {
  const plain = css.replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '');
  return FORBIDDEN.find((f) => f.test.test(plain))?.name ?? null;
}

/** Placeholders a footer template may use; each is replaced by an HTML-escaped value. */
export const FOOTER_PLACEHOLDERS = ['sender', 'link', 'page', 'space', 'date'] as const;
export type FooterPlaceholder = (typeof FOOTER_PLACEHOLDERS)[number];
