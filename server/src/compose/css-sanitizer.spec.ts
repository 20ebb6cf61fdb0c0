import { describe, expect, it } from 'vitest';
import { mediaQueriesOnly, sanitizeStyleAttribute, sanitizeStylesheet } from './css-sanitizer';

describe('page CSS', () => {
  it('keeps ordinary declarations, with strings in single quotes', () => {
    expect(sanitizeStyleAttribute('color: #333; font-family: "Segoe UI", sans-serif; margin:0 auto')).toBe(
      "color: #333; font-family: 'Segoe UI', sans-serif; margin: 0 auto",
    );
  });

  it('drops a declaration whose double-quoted string holds a single quote', () => {
    expect(sanitizeStyleAttribute(`color: red; font-family: "O'Brien Sans"`)).toBe('color: red');
  });

  it('drops a declaration that could fetch a resource, however it is spelt', () => {
    for (const style of [
      'background: url(https://t.example/a.png)',
      'background: URL ( "https://t.example/a.png" )',
      'background: u/**/rl(https://t.example/a.png)',
      'background: u\\72l(https://t.example/a.png)',
      'background-image: -webkit-image-set("https://t.example/a.png" 1x)',
      'background-image: image("https://t.example/a.png")',
      'background: cross-fade(url(a.png), url(b.png), 50%)',
      'list-style: square url(https://t.example/b.png)',
    ]) {
      expect(sanitizeStyleAttribute(`color: red; ${style}`)).toBe('color: red');
    }
  });

  it('drops a declaration that could run script', () => {
    for (const style of ['width: expression(alert(1))', 'behavior: url(x.htc)', '-moz-binding: url(x.xml#y)', 'background: javascript:alert(1)']) {
      expect(sanitizeStyleAttribute(`${style}; color: red`)).toBe('color: red');
    }
  });

  it('keeps rules and media queries and drops every other at-rule', () => {
    const css = `@charset "utf-8"; @import url(a.css); @import "b.css";
      @font-face { font-family: x; src: url(f.woff) }
      @-moz-document url-prefix() { p { color: red } }
      @supports (display: grid) { p { display: grid } }
      .note > p { color: green }
      @media screen and (max-width: 600px) { .note { font-size: 16px; background: url(x) } }`;
    expect(sanitizeStylesheet(css)).toBe('.note > p { color: green }\n@media screen and (max-width: 600px) {\n.note { font-size: 16px }\n}');
  });

  it('never lets the stylesheet close its <style> element', () => {
    expect(sanitizeStylesheet('p { color: red } </style><script>alert(1)</script> { color: blue }')).toBe('p { color: red }');
    expect(sanitizeStylesheet('p { content: "</style>" ; color: red }')).toBe('p { color: red }');
  });

  it('drops the rest of a stylesheet with an unclosed block instead of guessing', () => {
    expect(sanitizeStylesheet('p { color: red } div { color: blue ')).toBe('p { color: red }');
  });
});

describe('what is left after inlining', () => {
  it('keeps only the media queries of a stylesheet', () => {
    expect(mediaQueriesOnly('p { color: red } a:hover { color: blue } @media (max-width: 600px) { p { font-size: 16px } } @font-face { font-family: x }')).toBe(
      '@media (max-width: 600px) {\np { font-size: 16px }\n}',
    );
  });
});
