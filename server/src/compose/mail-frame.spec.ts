import { describe, expect, it } from 'vitest';
import { frameHtml, renderFooter, type FooterValues } from './mail-frame';

const values: FooterValues = { sender: 'Ann <Admin> & Co', page: 'Plan "Q3"', space: 'DOCS', link: 'https://x.atlassian.net/wiki/spaces/DOCS/pages/1/Plan?a=1&b=2', date: new Date('2026-11-01T23:30:00Z') };

describe('footer template', () => {
  it('fills every placeholder with its value, HTML-escaped', () => {
    expect(renderFooter('Sent by {sender} from "{page}" in {space} on {date}: {link}', values)).toBe(
      'Sent by Ann &lt;Admin&gt; &amp; Co from &quot;Plan &quot;Q3&quot;&quot; in DOCS on 1 November 2026: ' +
        '<a href="https://x.atlassian.net/wiki/spaces/DOCS/pages/1/Plan?a=1&amp;b=2">https://x.atlassian.net/wiki/spaces/DOCS/pages/1/Plan?a=1&amp;b=2</a>',
    );
  });

  it('escapes the template text, keeps its line breaks and leaves unknown placeholders as written', () => {
    expect(renderFooter('<b>{nope}</b>\nline {SENDER}', values)).toBe('&lt;b&gt;{nope}&lt;/b&gt;<br>line {SENDER}');
  });

  it('leaves {link} empty without an http(s) link', () => {
    expect(renderFooter('[{link}]', { ...values, link: 'javascript:alert(1)' })).toBe('[]');
    expect(renderFooter('[{link}]', { ...values, link: null })).toBe('[]');
  });
});

describe('mail frame', () => {
  it('puts the header and the escaped personal message before the page, the link and footer after it', () => {
    const f = frameHtml({ headerText: 'Acme <Docs>', logoSrc: 'cid:logo.png', message: 'Hi <team>,\nread this & reply.', footerTemplate: '{page}', includePageLink: true, values });
    expect(f.before).toBe(
      '<div class="mailpage-header"><img class="mailpage-logo" src="cid:logo.png" alt="" height="48"><span>Acme &lt;Docs&gt;</span></div>' +
        '<div class="mailpage-message"><p>Hi &lt;team&gt;,<br>read this &amp; reply.</p></div>',
    );
    expect(f.after).toContain('<p class="mailpage-page-link"><a href="https://x.atlassian.net/wiki/spaces/DOCS/pages/1/Plan?a=1&amp;b=2">Open this page in Confluence</a></p>');
    expect(f.after).toContain('<div class="mailpage-footer"><p>Plan &quot;Q3&quot;</p></div>');
  });

  it('adds nothing when there is nothing to add', () => {
    expect(frameHtml({ headerText: ' ', logoSrc: null, message: '  ', footerTemplate: '', includePageLink: true, values: { ...values, link: null } })).toEqual({ before: '', after: '' });
  });
});
