import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sanitizePageHtml } from '../../server/src/compose/html-sanitizer';
import { renderMacros } from '../../server/src/compose/macros';
import { ROOT } from './server';

/** Pages for the composer's specs: the benchmark's page, what render() makes of a page, and seeded randomness. */

export const PAGE_URL = 'https://example.atlassian.net/wiki/spaces/DOCS/pages/163845';

/** The benchmark's W1 page (bench/lib/fixtures.mjs): 40 kB of Confluence export view with five cid: images. */
export async function w1PageHtml(): Promise<string> {
  const fixtures = pathToFileURL(join(ROOT, 'bench/lib/fixtures.mjs')).href;
  const { pageHtml } = (await import(fixtures)) as { pageHtml: (bytes: number, images: string[]) => string };
  return pageHtml(40 * 1024, ['image-1.png', 'image-2.png', 'image-3.png', 'image-4.png', 'image-5.png']);
}

/** What render() makes of a page before styling it: macros made static, then sanitised; attachment and cid: images resolve. */
export function sanitizedPage(html: string): { body: string; css: string[] } {
  const resolve = (src: string) => (/^cid:|\/download\//.test(src) ? src.replace(/[?#].*$/, '').replace(/^.*[/:]/, '') : null);
  return sanitizePageHtml(renderMacros(html, { pageUrl: PAGE_URL }), resolve);
}

/** A page as an editor or exporter writes it: indented markup, comments, and a stylesheet mostly for other pages. */
export function wordyPage(sections: number, css: { rules: number; margins: boolean; media: boolean }): string {
  const rules = Array.from(
    { length: css.rules },
    (_, i) => `.unused-rule-${i} > .child-${i} {\n    color: #${(i * 4099).toString(16).padStart(6, '0').slice(-6)};\n${css.margins ? `    margin: ${i}px 0 0 0;\n` : ''}}`,
  ).join('\n');
  const body = Array.from(
    { length: sections },
    (_, i) => `
        <!-- section ${i} starts here -->
        <div class="section" title="">
            <h2 class="section-title">Section ${i}</h2>
            <p class="para">
                Paragraph ${i} says what changed in this part of the release,
                and why it matters to the people who use it.
            </p>
        </div>`,
  ).join('\n');
  const media = css.media ? '@media (max-width: 600px) { .para { margin: 0 } }\n' : '';
  return `<style>\n${rules}\n.para { color: #172b4d; }\n${media}</style>\n<div class="page">${body}\n</div>`;
}

/** A seeded random number generator (mulberry32): the same pages on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
