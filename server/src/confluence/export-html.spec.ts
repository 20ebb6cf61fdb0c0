import { describe, expect, it } from 'vitest';
import { decodeEntities, findTags, isRelativeUrl, rewriteTags } from './export-html';

describe('export HTML tags', () => {
  it('reads img and a attributes, quoted either way, with entities decoded, and a ">" inside a value', () => {
    const tags = findTags(`<p><img src="/wiki/a.png?x=1&amp;y=2" alt='a > b' width=10><a href="#top">top</a><abbr title="x">y</abbr><area href="z"></p>`);
    expect(tags.map((t) => [t.tag, Object.fromEntries(t.attrs)])).toEqual([
      ['img', { src: '/wiki/a.png?x=1&y=2', alt: 'a > b', width: '10' }],
      ['a', { href: '#top' }],
    ]);
  });

  it('rewrites only the tags it is asked to, and leaves every other byte alone', () => {
    const html = '<p class="x">Hi <img src="a.png" alt="&quot;A&quot;"/> and <img src="b.png"> <a href="/wiki/x">x</a></p>';
    const out = rewriteTags(html, (t) => (t.attrs.get('src') === 'a.png' ? { src: 'cid:a.png', srcset: null } : undefined));
    expect(out).toBe('<p class="x">Hi <img src="cid:a.png" alt="&quot;A&quot;" /> and <img src="b.png"> <a href="/wiki/x">x</a></p>');
  });

  it('does not find a tag that the page only quotes as text', () => {
    expect(findTags('<pre>&lt;img src="x"&gt;</pre>')).toEqual([]);
  });

  it('decodes numeric and named references, and leaves unknown ones', () => {
    expect(decodeEntities('&#65;&#x42;&lt;&unknown;&amp;')).toBe('AB<&unknown;&');
  });

  it.each([
    ['/wiki/spaces/X', true],
    ['spaces/X', true],
    ['#anchor', false],
    ['//cdn.example.com/x', false],
    ['https://example.com', false],
    ['mailto:a@example.com', false],
    ['javascript:alert(1)', false],
    ['', false],
  ])('%s is relative: %s', (value, expected) => {
    expect(isRelativeUrl(value)).toBe(expected);
  });
});
