import MailComposer from 'nodemailer/lib/mail-composer';
import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error';
import { ComposeService } from '../compose/compose.service';
import { assembleMessage, cryptographicPayload, outerFields, splitMessage } from './mime-entity';

// Header protection (RFC 9788) on real composed mail, read back with postal-mime.

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function composed(html = '<p>Hello <b>team</b></p>', images: { filename: string; contentType: string; content: Buffer }[] = []): Promise<Buffer> {
  const mail = await new ComposeService().compose({
    title: 'Dinner plans <tonight> & more',
    html,
    subjectPrefix: '',
    from: { name: 'Alice', address: 'alice@example.com' },
    replyTo: { address: 'replies@example.com' },
    to: [{ address: 'bob@example.com' }],
    cc: [{ address: 'carol@example.com' }],
    images,
    attachments: [{ filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('attached text\n') }],
    messageIdDomain: 'example.com',
    maxBytes: 1024 * 1024,
  });
  return mail.raw;
}

function head(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

function encrypted(raw: Buffer, subject = '[...]') {
  const msg = splitMessage(raw);
  const outer = outerFields(msg, subject);
  return { msg, outer, payload: cryptographicPayload(msg, { hp: 'cipher', outer }) };
}

describe('the encrypted payload', () => {
  it('carries the real headers, hp="cipher" and one HP-Outer line per outer field', async () => {
    const { payload } = encrypted(await composed());
    const h = head(payload);
    expect(h).toMatch(/^Content-Type: multipart\/mixed; boundary="[^"]+";\r\n hp="cipher"; protected-headers="v1"\r\n/);
    for (const name of ['From', 'To', 'Cc', 'Reply-To', 'Date', 'Message-ID']) {
      expect(h).toMatch(new RegExp(`^${name}: .+$`, 'm'));
      expect(h).toMatch(new RegExp(`^HP-Outer: ${name}: .+$`, 'm'));
    }
    expect(h).toContain('\r\nHP-Outer: Subject: [...]');
    expect(h).not.toMatch(/^MIME-Version/m);

    const parsed = await PostalMime.parse(payload);
    expect(parsed.subject).toBe('Dinner plans <tonight> & more');
    expect(parsed.from?.address).toBe('alice@example.com');
    expect(parsed.cc?.map((a) => a.address)).toEqual(['carol@example.com']);
  });

  it('adds the legacy display element to the text and HTML bodies, and leaves attachments alone', async () => {
    const { payload } = encrypted(await composed());
    const parsed = await PostalMime.parse(payload);
    expect(parsed.text).toMatch(/^Subject: Dinner plans <tonight> & more\r?\n\r?\nHello/);
    expect(parsed.html).toContain('<body><div class="header-protection-legacy-display"><pre>Subject: Dinner plans &lt;tonight&gt; &amp; more</pre></div><div class="mailpage-page"');
    expect(payload.toString('latin1').match(/hp-legacy-display="1"/g)).toHaveLength(2);
    const attachment = parsed.attachments.find((a) => a.filename === 'notes.txt');
    expect(Buffer.from(attachment!.content as ArrayBuffer).toString()).toBe('attached text\n');
  });

  it('finds the HTML body inside multipart/related when the page has inline images', async () => {
    const { payload } = encrypted(await composed('<p>Chart: <img src="cid:chart.png" alt="chart"></p>', [{ filename: 'chart.png', contentType: 'image/png', content: PNG }]));
    const parsed = await PostalMime.parse(payload);
    expect(parsed.html).toContain('header-protection-legacy-display');
    expect(parsed.attachments.find((a) => a.filename === 'chart.png')?.contentId).toBeTruthy();
  });

  it('marks a single-part message itself as the main body part', async () => {
    const raw = await new MailComposer({ from: 'a@example.com', to: 'b@example.com', subject: 'Plain only', text: 'Just text.\n', newline: 'win', encoding: 'quoted-printable' }).compile().build();
    const { payload } = encrypted(raw);
    expect(head(payload)).toMatch(/^Content-Type: text\/plain; charset=utf-8;\r\n hp-legacy-display="1";\r\n hp="cipher"; protected-headers="v1"/);
    expect((await PostalMime.parse(payload)).text).toMatch(/^Subject: Plain only\r?\n\r?\nJust text\./);
  });

  it('never copies Bcc, inside or outside', () => {
    const raw = Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nBcc: hidden@example.com\r\nSubject: Hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n');
    const { msg, outer, payload } = encrypted(raw);
    expect(payload.toString()).not.toContain('hidden');
    const message = assembleMessage(outer, { headers: ['Content-Type: text/plain'], body: Buffer.from('x\r\n') });
    expect(message.toString()).not.toContain('hidden');
    expect(outerFields(msg).map((f) => f.name)).toEqual(['From', 'To', 'Subject']);
  });

  it('is 7-bit with CRLF line endings only', async () => {
    const { payload } = encrypted(await composed());
    expect(/[^\x00-\x7f]/.test(payload.toString('latin1'))).toBe(false);
    expect(/\r(?!\n)|(?<!\r)\n/.test(payload.toString('latin1'))).toBe(false);
  });
});

describe('the outside of an encrypted message', () => {
  it('shows the placeholder subject and the same From, To, Cc, Date and Message-ID', async () => {
    const raw = await composed();
    const { outer } = encrypted(raw);
    const message = assembleMessage(outer, { headers: ['Content-Type: text/plain'], body: Buffer.from('x\r\n') });
    const [before, after] = await Promise.all([PostalMime.parse(raw), PostalMime.parse(message)]);
    expect(after.subject).toBe('[...]');
    expect(after.messageId).toBe(before.messageId);
    expect(after.date).toBe(before.date);
    expect(after.to).toEqual(before.to);
    expect(after.cc).toEqual(before.cc);
    expect(head(message)).toMatch(/\r\nMIME-Version: 1\.0\r\nContent-Type: text\/plain$/);
  });

  it('encodes a non-ASCII placeholder, and refuses one with a line break', async () => {
    const raw = await composed();
    const message = assembleMessage(encrypted(raw, 'Verschlüsselt').outer, { headers: ['Content-Type: text/plain'], body: Buffer.from('x\r\n') });
    expect((await PostalMime.parse(message)).subject).toBe('Verschlüsselt');
    const e = (() => { try { encrypted(raw, 'a\r\nBcc: x@example.com'); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('VALIDATION_FAILED');
  });
});

describe('the signed-only payload', () => {
  it('says hp="clear" and has no HP-Outer lines and no legacy display', async () => {
    const payload = cryptographicPayload(splitMessage(await composed()), { hp: 'clear' });
    expect(head(payload)).toMatch(/hp="clear"; protected-headers="v1"/);
    expect(payload.toString()).not.toContain('HP-Outer');
    expect(payload.toString()).not.toContain('hp-legacy-display');
    expect((await PostalMime.parse(payload)).subject).toBe('Dinner plans <tonight> & more');
  });
});

describe('input checks', () => {
  it('refuses a message with an 8-bit byte or a bare LF: it could not be signed byte-exactly', () => {
    expect(() => splitMessage(Buffer.from('Subject: x\r\n\r\nBr\xfcder\r\n', 'latin1'))).toThrow(/8-bit/);
    expect(() => splitMessage(Buffer.from('Subject: x\r\n\r\nline\nline\r\n'))).toThrow(/bare LF/);
  });
});
