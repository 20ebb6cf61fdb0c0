import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { ComposeService, THREAD_BUILD_MAX_FILE_BYTES, type ComposeInput, type MailFile, type PageRenderer } from './compose.service';

// Every assertion is made on what postal-mime, a parser we did not write, reads out of the raw message.

const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const OTHER_PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const PNG = Buffer.from(PNG_BASE64, 'base64');
const OTHER_PNG = Buffer.from(OTHER_PNG_BASE64, 'base64');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const service = new ComposeService();

function input(overrides: Partial<ComposeInput> = {}): ComposeInput {
  return {
    title: 'Release notes',
    html: '<p>Hello team</p>',
    subjectPrefix: '[Docs]',
    from: { name: 'Docs Bot', address: 'docs@example.com' },
    to: [{ name: 'Ann Example', address: 'ann@example.com' }],
    cc: [{ address: 'lee@example.org' }],
    images: [],
    attachments: [],
    messageIdDomain: 'example.com',
    maxBytes: 1024 * 1024,
    date: new Date('2025-03-04T05:06:07Z'),
    ...overrides,
  };
}

async function send(overrides: Partial<ComposeInput> = {}) {
  const mail = await service.compose(input(overrides));
  const received = await PostalMime.parse(mail.raw);
  return { mail, received, html: received.html ?? '', text: received.text ?? '' };
}

function bytesOf(content: ArrayBuffer | Uint8Array | string): Buffer {
  if (typeof content === 'string') return Buffer.from(content, 'base64');
  return content instanceof Uint8Array ? Buffer.from(content) : Buffer.from(new Uint8Array(content));
}

function cidsIn(html: string): string[] {
  return [...html.matchAll(/src="cid:([^"]+)"/g)].map((m) => m[1]);
}

function file(filename: string, content: Buffer = Buffer.from('data'), contentType = 'application/octet-stream'): MailFile {
  return { filename, content, contentType };
}

describe('subject and addresses', () => {
  it('puts the subject prefix before the page title with one space', async () => {
    expect((await send()).received.subject).toBe('[Docs] Release notes');
    expect((await send({ subjectPrefix: 'Docs: ' })).received.subject).toBe('Docs: Release notes');
    expect((await send({ subjectPrefix: '' })).received.subject).toBe('Release notes');
  });

  it('keeps a non-ASCII title intact', async () => {
    expect((await send({ title: 'Übersicht – 設計' })).received.subject).toBe('[Docs] Übersicht – 設計');
  });

  it('addresses From, To, Cc and Reply-To and never writes a Bcc header', async () => {
    const { received, mail } = await send({
      to: [{ name: 'Ann Example', address: 'ann@example.com' }, { address: 'bob@example.net' }],
      replyTo: { name: 'Team', address: 'team@example.com' },
    });
    expect(received.from).toEqual({ name: 'Docs Bot', address: 'docs@example.com' });
    expect(received.to).toEqual([
      { name: 'Ann Example', address: 'ann@example.com' },
      { name: '', address: 'bob@example.net' },
    ]);
    expect(received.cc).toEqual([{ name: '', address: 'lee@example.org' }]);
    expect(received.replyTo).toEqual([{ name: 'Team', address: 'team@example.com' }]);
    expect(received.bcc).toBeUndefined();
    expect(received.headers.map((h) => h.key)).not.toContain('bcc');
    expect(mail.raw.toString('latin1')).not.toMatch(/^bcc:/im);
  });

  it('writes only the minimal headers and does not name the software', async () => {
    const { received } = await send({ replyTo: { address: 'team@example.com' } });
    const keys = received.headers.map((h) => h.key);
    expect(new Set(keys)).toEqual(new Set(['from', 'to', 'cc', 'reply-to', 'subject', 'message-id', 'date', 'mime-version', 'content-type']));
  });

  it('gives the mail a Message-ID in the given domain and the given date', async () => {
    const { received, mail } = await send();
    expect(mail.messageId).toMatch(/^<[0-9a-f-]{36}@example\.com>$/);
    expect(received.messageId).toBe(mail.messageId);
    expect(new Date(received.date!).toISOString()).toBe('2025-03-04T05:06:07.000Z');
  });
});

describe('page HTML', () => {
  it('removes scripts, event handlers and javascript: links', async () => {
    const { html } = await send({
      html: `<p onclick="steal()">Text</p><script>alert("x")</script><img src="cid:nothing" onerror="alert(1)" alt="pic">
        <a href="javascript:alert(2)">js</a><a href="JaVaScRiPt&colon;alert(3)">js2</a><a href="vbscript:x">vb</a>
        <a href="data:text/html,<script>alert(4)</script>">data</a><a href="file:///etc/passwd">file</a>
        <iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input name="q"></form>
        <object data="x.swf"></object><embed src="x.swf"><meta http-equiv="refresh" content="0;url=https://evil.example/">
        <link rel="stylesheet" href="https://evil.example/x.css"><base href="https://evil.example/">
        <a href="https://ok.example/page?a=1&amp;b=2">fine</a><a href="mailto:help@example.com">mail us</a>`,
    });
    expect(html).not.toMatch(/<script|alert|onclick|onerror|javascript:|vbscript:|<iframe|<form|<input|<object|<embed|<meta http-equiv|<link|<base|file:|evil\.example/i);
    expect(html).toContain('href="https://ok.example/page?a=1&amp;b=2"');
    expect(html).toContain('href="mailto:help@example.com"');
    expect(html).toContain('Text');
  });

  it('removes remote, file: and other non-inline images and keeps their alt text', async () => {
    const { html, received } = await send({
      html: `<p>A <img src="https://tracker.example/pixel.gif" alt="Company logo"> B
        <img src="http://tracker.example/p.png"> C <img src="file:///etc/passwd" alt="local"> D
        <img src="//tracker.example/x.png" alt="relative"> E <img src="/wiki/download/x.png" alt="path">
        <img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="svg"></p>`,
    });
    expect(html).not.toMatch(/tracker\.example|file:|<img|\/wiki\/download|svg\+xml/);
    expect(html).toMatch(/A <span[^>]*>Company logo<\/span> B/);
    expect(html).toMatch(/C <span[^>]*>local<\/span> D/);
    expect(html).toContain('[image]');
    expect(received.attachments).toEqual([]);
  });

  it('sends a page that quotes image markup in its text as written', async () => {
    const { html, text } = await send({ html: '<p>Write &lt;img src="cid:logo"&gt; in the template, or <code>src="cid:x"</code>.</p>' });
    expect(html).toContain('Write &lt;img src="cid:logo"&gt; in the template');
    expect(text).toContain('Write <img src="cid:logo"> in the template, or src="cid:x".');
  });

  it('inlines the page stylesheet into style attributes', async () => {
    const { html } = await send({ html: '<style>p { color: red } .note { font-weight: bold }</style><p class="note">Styled</p>' });
    expect(html).toMatch(/<p style="[^"]*color:red;[^"]*font-weight:bold[^"]*">Styled<\/p>/);
    expect(html).not.toMatch(/<style>[\s\S]*color: red/);
  });

  it('sends a page whose inline styles quote a font name', async () => {
    // juice 11 throws on a double quote in the style of an element a stylesheet rule also matches.
    const { html } = await send({ html: '<p style="font-family: &quot;Segoe UI&quot;, sans-serif">Quoted</p><pre style=\'font-family: "Fira Code"\'>x</pre>' });
    expect(html).toMatch(/<p style="[^"]*font-family:'Segoe UI', sans-serif">Quoted<\/p>/);
    expect(html).toMatch(/<pre style="[^"]*font-family:'Fira Code'">x<\/pre>/);
  });

  it('sends a page whose inline styles hold &, < or >, with the rest of their styles, with or without a stylesheet', async () => {
    // Escaped as &amp; &lt; &gt;, their ";" made juice 11 throw (a 500) on any element a stylesheet rule matches.
    for (const css of ['', '<style>td { color: blue }</style>']) {
      const { html } = await send({ html: `${css}<table><tr><td style="font-family: AT&amp;T Sans; x: a&gt;b; y: a&lt;b; color: red">cell</td></tr></table>` });
      expect(html).toMatch(/<td [^>]*style="[^"]*color:red[^"]*"[^>]*>cell<\/td>/);
      expect(html).not.toMatch(/AT&amp;T|a&gt;b|a&lt;b/);
    }
  });

  it('applies a readable default stylesheet to the page', async () => {
    const { html } = await send({ html: '<table><tr><td>cell</td></tr></table><pre>code</pre>' });
    expect(html).toMatch(/<meta charset="utf-8">/);
    expect(html).toMatch(/<div class="mailpage-page" style="[^"]*font-family:[^"]*max-width:800px;/);
    expect(html).toMatch(/<td style="[^"]*border:1px solid #c1c7d0;[^"]*padding:6px 10px;/);
    expect(html).toMatch(/<pre style="[^"]*font-family:SFMono-Regular[^"]*background-color:#f4f5f7;/);
  });

  it('keeps media queries but drops CSS that would fetch something or run script', async () => {
    const { html } = await send({
      html: `<style>@import url("https://tracker.example/a.css"); @import 'https://tracker.example/b.css';
        @font-face { font-family: x; src: url(https://tracker.example/f.woff) }
        p { color: green; background: url(https://tracker.example/bg.png) }
        div { background-image: image-set("https://tracker.example/i.png" 1x) }
        span { background: u\\72l(https://tracker.example/esc.png); width: expression(alert(1)); behavior: url(x.htc) }
        @media (max-width: 600px) { p { font-size: 16px } }</style>
        <p style="color: blue; background-image: url('https://tracker.example/inline.png')">One</p>
        <div style="-moz-binding: url(x.xml#y); border: 1px solid red">Two</div><span style="ba&#x63;kground: u&#114;l(https://tracker.example/e)">Three</span>`,
    });
    expect(html).not.toMatch(/tracker\.example|url\(|expression|behavior|binding|@import|@font-face|image-set/i);
    expect(html).toContain('@media (max-width: 600px)');
    expect(html).toMatch(/<p style="[^"]*color:blue">One<\/p>/);
    expect(html).toMatch(/<div style="border: ?1px solid red;?">Two<\/div>/);
    expect(html).toMatch(/<span>Three<\/span>/);
  });
});

describe('inline images', () => {
  it('turns a data: image into an inline part with exactly the same bytes', async () => {
    const { html, received } = await send({ html: `<p><img src="data:image/png;base64,${PNG_BASE64}" alt="dot"></p>` });
    const [cid] = cidsIn(html);
    expect(cid).toMatch(/^[0-9a-f]{32}@mailpage$/);
    const part = received.attachments.find((a) => a.contentId === `<${cid}>`)!;
    expect(part.mimeType).toBe('image/png');
    expect(part.disposition).toBe('inline');
    expect(bytesOf(part.content).equals(PNG)).toBe(true);
    expect(html).not.toContain('data:');
  });

  it('resolves every cid: in the HTML to an inline part with that Content-ID, and ships no unused image', async () => {
    const { html, received, mail } = await send({
      html: `<img src="data:image/png;base64,${PNG_BASE64}"><img src="cid:diagram.png" alt="Diagram">
        <img src="photo.png"><img src="data:image/png;base64,${PNG_BASE64.replace(/(.{10})/g, '$1\n')}">`,
      images: [file('diagram.png', OTHER_PNG, 'image/png'), file('photo.png', PNG, 'image/png'), file('unused.png', OTHER_PNG, 'image/png')],
    });
    const cids = cidsIn(html);
    expect(cids).toHaveLength(4);
    for (const cid of cids) expect(received.attachments.some((a) => a.contentId === `<${cid}>`)).toBe(true);
    // Identical bytes (two data: URIs and photo.png) share one part; unused.png is left out.
    expect(new Set(cids).size).toBe(2);
    expect(received.attachments).toHaveLength(2);
    expect(mail.parts.map((p) => p.inline)).toEqual([true, true]);
  });

  it('embeds an uploaded image referenced by its file name', async () => {
    const { html, received } = await send({
      html: '<p><img src="release%20chart.png" alt="Chart" width="120"></p>',
      images: [file('release chart.png', OTHER_PNG, 'image/png')],
    });
    const [cid] = cidsIn(html);
    expect(html).toMatch(/<img src="cid:[0-9a-f]{32}@mailpage" alt="Chart" width="120"/);
    const part = received.attachments.find((a) => a.contentId === `<${cid}>`)!;
    expect(part.filename).toBe('release chart.png');
    expect(part.disposition).toBe('inline');
    expect(bytesOf(part.content).equals(OTHER_PNG)).toBe(true);
    expect(cid).not.toContain('chart');
  });

  it('drops a cid: reference to an image that was not uploaded and keeps its alt text', async () => {
    const { html, received } = await send({ html: '<p><img src="cid:missing.png" alt="Missing chart"></p>' });
    expect(html).not.toContain('cid:');
    expect(html).toContain('Missing chart');
    expect(received.attachments).toEqual([]);
  });

  it('drops an image whose bytes are no image it can read, whatever its name and type say', async () => {
    // An SVG is converted to PNG (see image-convert.spec.ts), but not one without a size.
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const { html, received } = await send({
      html: `<img src="data:image/png;base64,${svg.toString('base64')}" alt="fake"><img src="logo.png" alt="upload">`,
      images: [file('logo.png', svg, 'image/png')],
    });
    expect(html).not.toMatch(/<img/);
    expect(html).toContain('fake');
    expect(html).toContain('upload');
    expect(received.attachments).toEqual([]);
  });

  it('refuses an embedded image larger than the mail limit without decoding it', async () => {
    const huge = `data:image/png;base64,${'A'.repeat(3000)}`;
    await expect(service.compose(input({ html: `<img src="${huge}">`, maxBytes: 2000 }))).rejects.toMatchObject({ code: 'MAIL_TOO_LARGE', status: 413 });
  });
});

describe('plain-text alternative', () => {
  it('carries the page text, links as text [url] and images as alt text', async () => {
    const { text } = await send({
      html: `<h1>Release 2.4</h1><p>See the <a href="https://example.com/notes">full notes</a> now.</p>
        <img src="data:image/png;base64,${PNG_BASE64}" alt="Build status">
        <table><tr><th>Name</th><th>Owner</th></tr><tr><td>API</td><td>Ann</td></tr></table><ul><li>First item</li></ul>`,
    });
    expect(text).toContain('Release 2.4');
    expect(text).toContain('full notes [https://example.com/notes]');
    expect(text).toContain('Build status');
    expect(text).toMatch(/Name\s+Owner/);
    expect(text).toMatch(/API\s+Ann/);
    expect(text).toContain('First item');
    expect(text).not.toContain('cid:');
  });
});

describe('attachments', () => {
  it('delivers attachment bytes exactly as given', async () => {
    const textFile = Buffer.from('line one\n.\r\nline three\rmore\n');
    const { received, mail } = await send({
      attachments: [file('all-bytes.bin', ALL_BYTES), file('notes.txt', textFile, 'text/plain'), file('Ünïcode näme.pdf', PNG, 'application/pdf')],
    });
    const got = received.attachments.filter((a) => a.disposition === 'attachment');
    expect(got.map((a) => a.filename)).toEqual(['all-bytes.bin', 'notes.txt', 'Ünïcode näme.pdf']);
    expect(got.map((a) => a.mimeType)).toEqual(['application/octet-stream', 'text/plain', 'application/pdf']);
    expect(bytesOf(got[0].content).equals(ALL_BYTES)).toBe(true);
    expect(bytesOf(got[1].content).equals(textFile)).toBe(true);
    expect(bytesOf(got[2].content).equals(PNG)).toBe(true);
    expect(mail.parts).toEqual([
      { filename: 'all-bytes.bin', contentType: 'application/octet-stream', size: 256, inline: false },
      { filename: 'notes.txt', contentType: 'text/plain', size: textFile.length, inline: false },
      { filename: 'Ünïcode näme.pdf', contentType: 'application/pdf', size: PNG.length, inline: false },
    ]);
  });

  it('refuses a file name with a line feed or carriage return', async () => {
    await expect(service.compose(input({ attachments: [file('ok.txt'), file('evil\n.txt')] }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: 'attachments[1] filename contains a line feed',
    });
    await expect(service.compose(input({ attachments: [file('a\r\nContent-Type: text/html')] }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'attachments[0] filename contains a carriage return',
    });
    await expect(service.compose(input({ images: [file('x\u0000.png')] }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'images[0] filename contains a NUL byte',
    });
  });

  it('refuses a file name with a right-to-left override', async () => {
    await expect(service.compose(input({ attachments: [file('invoice\u202Efdp.exe')] }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      message: expect.stringMatching(/^attachments\[0\] filename contains the control or direction character U\+202E$/),
    });
    await expect(service.compose(input({ attachments: [file('report\u2066.pdf')] }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('refuses a file name longer than 255 characters', async () => {
    await expect(service.compose(input({ attachments: [file(`${'a'.repeat(256)}.txt`)] }))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'attachments[0] filename is longer than 255 characters',
    });
  });

  it('reduces a path in a file name to its base name', async () => {
    const { received } = await send({
      attachments: [file('../../etc/passwd'), file('C:\\Users\\ann\\report.pdf'), file('../'), file('  ')],
    });
    expect(received.attachments.map((a) => a.filename)).toEqual(['passwd', 'report.pdf', 'attachment-3', 'attachment-4']);
  });

  it('sends a content type that is not a plain type/subtype as application/octet-stream', async () => {
    const { received } = await send({
      attachments: [
        file('a.html', Buffer.from('x'), 'text/html; charset=utf-8'),
        file('b', Buffer.from('x'), 'text/plain\r\nX-Injected: 1'),
        file('c.eml', Buffer.from('Subject: inner\r\n\r\nbody'), 'message/rfc822'),
        file('d', Buffer.from('x'), 'multipart/mixed'),
        file('e.CSV', Buffer.from('x'), 'Text/CSV'),
      ],
    });
    expect(received.attachments.map((a) => a.mimeType)).toEqual([
      'application/octet-stream',
      'application/octet-stream',
      'application/octet-stream',
      'application/octet-stream',
      'text/csv',
    ]);
    expect(received.headers.map((h) => h.key)).not.toContain('x-injected');
  });
});

describe('size limit', () => {
  it('refuses a mail over the limit with MAIL_TOO_LARGE', async () => {
    const error = await service.compose(input({ html: `<p>${'words '.repeat(2000)}</p>`, maxBytes: 4000 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MAIL_TOO_LARGE', status: 413, details: { limit: 4000 } });
    expect((error as Error).message).toMatch(/^The mail would be \d+ KB, over the limit of 3 KB; leave out some attachments or images\.$/);
  });

  it('refuses attachments that cannot fit before composing anything', async () => {
    const big = Buffer.alloc(3.2 * 1024 * 1024);
    await expect(service.compose(input({ attachments: [file('big.bin', big)], maxBytes: 4 * 1024 * 1024 }))).rejects.toMatchObject({
      code: 'MAIL_TOO_LARGE',
      status: 413,
      message: 'The mail would be 4.3 MB, over the limit of 4 MB; leave out some attachments or images.',
    });
  });

  it('reports the raw size it sends', async () => {
    const { mail } = await send({ attachments: [file('a.bin', ALL_BYTES)] });
    expect(mail.size).toBe(mail.raw.length);
    expect(mail.size).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('SMTP safety of the raw message', () => {
  it('never has a body line that is a lone "."', async () => {
    const { mail, text, html } = await send({
      html: `<pre>first\n.\nlast</pre><p>.</p><pre>${'x'.repeat(75)}.\n${'y'.repeat(74)}.</pre><p>\n.\n</p>`,
    });
    const raw = mail.raw.toString('latin1');
    expect(raw).not.toMatch(/\r\n\.\r\n/);
    expect(raw.split('\r\n')).not.toContain('.');
    // The recipient still reads the dots.
    expect(text).toMatch(/^\.$/m);
    expect(html).toContain('first\n.\nlast');
  });

  it('uses CRLF for every line ending, whatever the page holds', async () => {
    const { mail, text } = await send({
      html: '<p>one\r\ntwo\rthree\nfour</p><pre>a\r\nb\rc\nd</pre>',
      attachments: [file('notes.txt', Buffer.from('x\ny\rz'), 'text/plain')],
    });
    const raw = mail.raw.toString('latin1');
    expect(raw).toContain('\r\n');
    expect(raw).not.toMatch(/\r(?!\n)/);
    expect(raw).not.toMatch(/(?<!\r)\n/);
    expect(text).toContain('one two three four');
    expect(text).toContain('a\nb\nc\nd');
  });
});

describe('the site layout and the personal message', () => {
  const layout = (over: Partial<NonNullable<ComposeInput['layout']>> = {}): NonNullable<ComposeInput['layout']> => ({
    headerText: 'Acme Docs',
    logo: { filename: 'logo', contentType: 'image/png', content: PNG },
    footerTemplate: 'Sent by {sender} from {page} ({space}) on {date}. {link}',
    css: 'h1 { color: #ff5630; } .mailpage-footer { color: #6b778c; }',
    includePageLink: true,
    ...over,
  });

  it('sends the logo as an inline CID part the header shows', async () => {
    const { received, html } = await send({ html: '<h1>Plan</h1>', layout: layout() });
    const parts = received.attachments.filter((a) => a.disposition === 'inline');
    expect(parts).toHaveLength(1);
    expect(parts[0].mimeType).toBe('image/png');
    expect(bytesOf(parts[0].content).equals(PNG)).toBe(true);
    expect(cidsIn(html)).toEqual([parts[0].contentId!.replace(/^<|>$/g, '')]);
    expect(html.indexOf('Acme Docs')).toBeLessThan(html.indexOf('Plan'));
  });

  it('fills the footer placeholders, escaped, and links back to the page', async () => {
    const { html, text } = await send({
      title: 'Plan <Q3>',
      html: '<p>Body</p>',
      pageUrl: 'https://acme.atlassian.net/wiki/spaces/DOCS/pages/1/Plan',
      layout: layout(),
      senderName: 'Ann & Bo',
      spaceKey: 'DOCS',
      date: new Date('2026-11-01T10:00:00Z'),
    });
    expect(text.replace(/\s+/g, ' ')).toContain('Sent by Ann & Bo from Plan <Q3> (DOCS) on 1 November 2026. https://acme.atlassian.net/wiki/spaces/DOCS/pages/1/Plan');
    expect(html).toContain('Ann &amp; Bo');
    expect(html).toContain('Plan &lt;Q3&gt;');
    expect(html).toContain('>Open this page in Confluence</a>');
    expect(html.indexOf('Body')).toBeLessThan(html.indexOf('Sent by'));
  });

  it('inlines the site CSS after the defaults, and drops what could fetch anything', async () => {
    const { html } = await send({ html: '<h1>Title</h1>', layout: layout({ css: 'h1 { color: #ff5630; background: url(https://evil.example/t.png); } p { color: #123456 }' }) });
    expect(html).toMatch(/<h1[^>]*style="[^"]*color: ?#ff5630/);
    expect(html).not.toContain('evil.example');
  });

  it('shows the personal message above the page, escaped, with its line breaks', async () => {
    const { html, text } = await send({ html: '<p>Page body</p>', message: 'Hi <b>team</b>,\nplease read & reply.' });
    expect(html).toContain('Hi &lt;b&gt;team&lt;/b&gt;,<br>please read &amp; reply.');
    expect(html).not.toContain('<b>team</b>');
    expect(text.indexOf('please read & reply.')).toBeLessThan(text.indexOf('Page body'));
  });

  it('builds one body into several messages, each with its own recipients and Message-ID', async () => {
    const rendered = await service.render(input({ html: '<p>Shared</p>', layout: layout() }));
    const a = await service.build(rendered, { ...input(), to: [{ address: 'a@example.com' }], cc: [] });
    const b = await service.build(rendered, { ...input(), to: [{ address: 'b@example.com' }], cc: [] });
    const [pa, pb] = await Promise.all([PostalMime.parse(a.raw), PostalMime.parse(b.raw)]);
    expect(pa.to?.map((x) => x.address)).toEqual(['a@example.com']);
    expect(pb.to?.map((x) => x.address)).toEqual(['b@example.com']);
    expect(a.messageId).not.toBe(b.messageId);
    expect(pa.html).toBe(pb.html);
  });
});

describe('where the message is built', () => {
  it('hands a mail with small files to the worker pool, and builds one with big attachments on its own thread', async () => {
    const here = new ComposeService();
    const pooledBuilds: string[] = [];
    const pool: PageRenderer = {
      enabled: true,
      renderPage: (page) => here.renderPage(page),
      buildMessage: (mail, headers) => {
        pooledBuilds.push(mail.attachments.map((a) => a.filename).join());
        return here.buildMessage(mail, headers);
      },
    };
    const pooled = new ComposeService(pool);
    const small = await pooled.compose(input({ attachments: [file('small.bin', Buffer.alloc(1000, 1))] }));
    const big = await pooled.compose(input({ maxBytes: 12 * 1024 * 1024, attachments: [file('big.bin', Buffer.alloc(THREAD_BUILD_MAX_FILE_BYTES + 1, 2))] }));
    expect(pooledBuilds).toEqual(['small.bin']);
    const [a, b] = await Promise.all([PostalMime.parse(small.raw), PostalMime.parse(big.raw)]);
    expect(a.attachments.map((f) => [f.filename, bytesOf(f.content).length])).toEqual([['small.bin', 1000]]);
    expect(b.attachments.map((f) => [f.filename, bytesOf(f.content).length])).toEqual([['big.bin', THREAD_BUILD_MAX_FILE_BYTES + 1]]);
  });
});
