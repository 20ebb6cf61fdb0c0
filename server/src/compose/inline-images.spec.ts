import { DomUtils, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { DEMO_PAGES } from '../local/sandbox/demo-site';
import { imageSources } from './inline-images';
import { renderMacros } from './macros';

const UNSHOWN = new Set(['script', 'style', 'textarea', 'option', 'noscript', 'noembed', 'noframes', 'template', 'title', 'iframe', 'object', 'xmp', 'select', 'svg', 'math']);

/** The tree walk it replaced: the reference for which images a page shows. */
function fromTree(html: string): string[] {
  const doc = parseDocument(html);
  const sources: string[] = [];
  for (const img of DomUtils.getElementsByTagName('img', doc.children)) {
    let shown = true;
    for (let up = img.parent; up && 'name' in up; up = up.parent) if (UNSHOWN.has(up.name)) shown = false;
    const src = (img.attribs.src ?? '').trim();
    if (shown && src) sources.push(src);
  }
  return sources;
}

describe('which images a page shows', () => {
  it('finds the images of every demo page, in page order, as a parsed tree would', () => {
    for (const page of DEMO_PAGES) {
      const html = renderMacros(page.exportView('https://demo.atlassian.net/wiki'), { pageUrl: null });
      expect(imageSources(html), page.title).toEqual(fromTree(html));
    }
  });

  it.each([
    ['hidden in a template, a select, an svg or a noscript', '<template><img src="a"></template><select><option><img src="b"></select><svg><img src="c"></svg><noscript><img src="d"></noscript><img src=" e ">'],
    ['after unclosed and misnested tags', '<div><p><span><img src="a"><table><tr><td><img src="b"></div></span><img src="c">'],
    ['inside an unclosed hiding element', '<p><img src="a"><object><img src="b"><p><img src="c">'],
    ['with entities and odd quoting', '<img src="cid:a&amp;b"><img src=cid:c><IMG SRC="D"><img src><img src="">'],
    ['after a stray end tag of a hiding element', '</svg><img src="a"></template><img src="b">'],
    ['in raw-text elements', '<textarea><img src="a"></textarea><title><img src="b"></title><script>"<img src=c>"</script><img src="d">'],
  ])('agrees with the tree for images %s', (_what, html) => {
    expect(imageSources(html)).toEqual(fromTree(html));
  });
});
