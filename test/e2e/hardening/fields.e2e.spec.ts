import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSmtpServer } from '../../support/reliability';
import { expectRefused, multipart, postRaw, startRig, startWireTap, type Rig } from './support';

/**
 * What a sender writes into a mail's headers and envelope: the title, names, addresses, file names and the shape of the
 * request. Every case goes through the HTTP API of the built server and must be refused with a 4xx that names the
 * field and what is wrong, with nothing reaching the SMTP server; the valid internationalised addresses go out as
 * punycode.
 */
describe('hardening: header fields, addresses and the request shape', () => {
  let rig: Rig;
  const ok = { title: 'Fine', html: '<p>fine</p>', to: ['ann@example.com'] };
  const send = (body: unknown) => rig.api.post('/api/mail/send', body);
  const sendMultipart = (parts: Parameters<typeof multipart>[0]) => {
    const { body, contentType } = multipart(parts);
    return postRaw(rig, '/api/mail/send', body, contentType);
  };
  const text = (name: string, value: string) => ({ name, value });

  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.stop());

  describe('line breaks, NUL and other controls', () => {
    it.each([
      ['a line feed in the title', { title: 'Hi\nBcc: x@evil.example' }, /^The request is not valid: title contains a line feed\.$/],
      ['CRLF and a header in the title', { title: 'Hi\r\nBcc: x@evil.example' }, /title contains a carriage return/],
      ['a lone carriage return in the title', { title: 'Hi\rthere' }, /title contains a carriage return/],
      ['a NUL in the title', { title: 'Hi\u0000' }, /title contains a NUL byte/],
      ['a line separator U+2028 in the title', { title: 'Hi\u2028Bcc: x' }, /title contains a line separator \(U\+2028\)/],
      ['a paragraph separator U+2029 in the title', { title: 'Hi\u2029x' }, /title contains a paragraph separator \(U\+2029\)/],
      ['a next-line U+0085 in the title', { title: 'Hi\u0085x' }, /title contains a next-line character \(U\+0085\)/],
      ['a right-to-left override in the title', { title: 'invoice\u202Efdp.exe' }, /title contains the control or direction character U\+202E/],
      ['a line feed in a to name', { to: ['Ann\n <ann@example.com>'] }, /to\[0\] "Ann\uFFFD <ann@example\.com>" contains a line feed/],
      ['a carriage return in a cc name', { cc: ['Ann\r <ann@example.com>'] }, /cc\[0\] .* contains a carriage return/],
      ['a NUL in a bcc address', { bcc: ['ann@example.com\u0000'] }, /bcc\[0\] .* contains a NUL byte/],
      ['a U+2028 in a to name', { to: ['Ann\u2028Bcc <ann@example.com>'] }, /to\[0\] .* contains a line separator \(U\+2028\)/],
      ['a U+0085 in a to name', { to: ['"Ann\u0085" <ann@example.com>'] }, /to\[0\] .* contains a next-line character \(U\+0085\)/],
      ['a line feed in an address', { to: ['ann@example.com\nRCPT TO:<x@evil.example>'] }, /to\[0\] .* contains a line feed/],
    ])('refuses %s', async (_, over, message) => {
      expectRefused(await send({ ...ok, ...over }), 400, 'VALIDATION_FAILED', message, rig.smtp);
    });

    it.each([
      ['a CRLF in the sender name', { senderName: 'Docs\r\nBcc: x@evil.example' }, /senderName contains a carriage return/],
      ['a U+2028 in the subject prefix', { subjectPrefix: '[Wiki]\u2028' }, /subjectPrefix contains a line separator \(U\+2028\)/],
      ['a U+0085 in the sender name', { senderName: 'Docs\u0085' }, /senderName contains a next-line character/],
      ['a NUL in the SMTP user name', { server: { mode: 'custom', host: '127.0.0.1', port: 25, security: 'none', auth: { type: 'password', username: 'mailer\u0000x' } } }, /server\.auth\.username contains a NUL byte/],
    ])('refuses %s in the mail settings', async (_, over, message) => {
      const r = await rig.api.put('/api/settings/mail', { senderAddress: 'docs@example.com', server: { mode: 'custom', host: '127.0.0.1', port: rig.smtp.port, security: 'none' }, ...over });
      expectRefused(r, 400, 'VALIDATION_FAILED', message);
    });

    // busboy decodes RFC 5987 `filename*=` values: percent-escapes reach the service as the characters they name.
    it.each([
      ['CRLF', "utf-8''plan%0D%0AContent-Type%3A%20text%3Bx.pdf", /attachments\[0\] filename contains a carriage return/],
      ['a lone LF', "utf-8''plan%0A.pdf", /attachments\[0\] filename contains a line feed/],
      ['a NUL', "utf-8''plan.pdf%00.exe", /attachments\[0\] filename contains a NUL byte/],
      ['U+2028', "utf-8''plan%E2%80%A8.pdf", /attachments\[0\] filename contains a line separator \(U\+2028\)/],
      ['U+0085', "utf-8''plan%C2%85.pdf", /attachments\[0\] filename contains a next-line character \(U\+0085\)/],
      ['a right-to-left override', "utf-8''invoice%E2%80%AEfdp.exe", /attachments\[0\] filename contains the control or direction character U\+202E/],
    ])('refuses an attachment file name with %s', async (_, filenameStar, message) => {
      const r = await sendMultipart([text('title', 'Files'), text('html', '<p>x</p>'), text('to', 'ann@example.com'), { name: 'attachments', filenameStar, contentType: 'application/pdf', value: '%PDF-1.4' }]);
      expectRefused(r, 400, 'VALIDATION_FAILED', message, rig.smtp);
    });

    it('refuses a line break written as %0D%0A in a plain filename parameter, as browsers escape it', async () => {
      // multer reverses the WHATWG form escapes (%0A, %0D, %22) of filename="…".
      const r = await sendMultipart([text('title', 'Files'), text('html', '<p>x</p>'), text('to', 'ann@example.com'), { name: 'attachments', filename: 'plan%0D%0ABcc: x@evil.example.pdf', value: 'x' }]);
      expectRefused(r, 400, 'VALIDATION_FAILED', /attachments\[0\] filename contains a carriage return/, rig.smtp);
    });

    it('refuses an image file name with a line break, and a latin-1 NEL byte in a plain filename parameter', async () => {
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      const image = await sendMultipart([text('title', 'Img'), text('html', '<img src="cid:a.png">'), text('to', 'ann@example.com'), { name: 'images', filenameStar: "utf-8''a%0D%0A.png", contentType: 'image/png', value: png }]);
      expectRefused(image, 400, 'VALIDATION_FAILED', /images\[0\] filename contains a carriage return/, rig.smtp);
      const nel = await sendMultipart([text('title', 'Files'), text('html', '<p>x</p>'), text('to', 'ann@example.com'), { name: 'attachments', filename: Buffer.from('plan\x85.pdf', 'latin1').toString('latin1'), value: 'x' }]);
      expectRefused(nel, 400, 'VALIDATION_FAILED', /attachments\[0\] filename contains a next-line character \(U\+0085\)/, rig.smtp);
    });
  });

  describe('addresses a parser could read two ways', () => {
    it.each([
      ['a quoted local part that hides another address', '"a@gmail.com x"@internal.domain', /exactly one address/],
      ['a comment that hides another domain', 'user@good-corp.com(x)evil.com', /exactly one address/],
      ['a comma list', 'a@example.com, b@example.com', /exactly one address/],
      ['a semicolon list', 'a@example.com;b@example.com', /exactly one address/],
      ['a list of named addresses', 'Ann <a@example.com>, Bob <b@example.com>', /display name with special characters/],
      ['group syntax', 'friends: a@example.com, b@example.com;', /exactly one address/],
      ['an empty group', 'undisclosed-recipients:;', /exactly one address/],
      ['an encoded-word name that decodes to an address', '=?utf-8?q?boss=40corp.example?= <mallory@evil.example>', /encoded word/],
      ['an encoded-word local part', '=?utf-8?b?Ym9zcw==?=@example.com', /encoded word/],
      ['another address as the display name', '"ceo@corp.example" <mallory@evil.example>', /display name with an @/],
      ['a source route', '<@relay.example:ann@example.com>', /local part/],
      ['two angle addresses', 'Ann <a@example.com> <b@example.com>', /special characters/],
      ['an IP literal', 'root@[127.0.0.1]', /exactly one address/],
      ['a decimal IP as the domain', 'root@2130706433', /not a valid host name/],
      ['a host without a dot', 'root@localhost', /not a valid host name/],
      ['a Unicode local part', 'jörg@example.com', /local part/],
    ])('refuses %s', async (_, address, message) => {
      const r = await send({ ...ok, to: [address] });
      expectRefused(r, 400, 'VALIDATION_FAILED', message, rig.smtp);
      expect(r.body.message).toMatch(/^Some recipients are not valid: to\[0\] "/);
    });
  });

  describe('internationalised and look-alike addresses', () => {
    it('sends to an internationalised domain as punycode, in the envelope and the header', async () => {
      // smtp-server shows envelope addresses decoded: what went over the wire is read at a relay in front of it.
      const tap = await startWireTap(rig.smtp.port);
      await useSmtpServer(rig.api, tap.port);
      try {
        const r = await send({ ...ok, to: ['user@bücher.example', 'Jörg Müller <joerg@BÜCHER.example>'], cc: ['info@пример.рф'] });
        expect(r.status, r.text).toBe(200);
        expect(r.body.accepted).toEqual(['user@xn--bcher-kva.example', 'joerg@xn--bcher-kva.example', 'info@xn--e1afmkfd.xn--p1ai']);
        const wire = Buffer.concat(tap.sent).toString('latin1');
        expect(wire.match(/^RCPT TO:<[^>]*>/gm)).toEqual(['RCPT TO:<user@xn--bcher-kva.example>', 'RCPT TO:<joerg@xn--bcher-kva.example>', 'RCPT TO:<info@xn--e1afmkfd.xn--p1ai>']);
        expect(wire).toMatch(/^To: user@xn--bcher-kva\.example, =\?UTF-8\?Q\?J=C3=B6rg_M=C3=BCller\?=\r\n <joerg@xn--bcher-kva\.example>\r$|^To: user@xn--bcher-kva\.example,[^\r]*<joerg@xn--bcher-kva\.example>\r$/m);
        expect(wire).toMatch(/^Cc: info@xn--e1afmkfd\.xn--p1ai\r$/m);
        expect(rig.smtp.messagesReceived).toBe(1);
      } finally {
        await useSmtpServer(rig.api, rig.smtp.port);
        await tap.close();
      }
    });

    it.each([
      ['a Latin domain with one Cyrillic а', 'user@pаypal.com', /mixes Latin and Cyrillic letters \("а" \(U\+0430\) is Cyrillic\)/],
      ['the same domain as punycode', 'user@xn--pypal-4ve.com', /mixes Latin and Cyrillic/],
      ['a Latin domain with a Greek ο', 'user@gοogle.com', /mixes Latin and Greek/],
      ['an all-Cyrillic look-alike of a Latin name', 'user@аррӏе.com', /Cyrillic letters that all look like Latin ones \(it reads as "apple"\)/],
      ['a zero-width space', 'user@pay\u200bpal.com', /invisible character U\+200B/],
      ['a zero-width non-joiner', 'user@pay\u200cpal.com', /invisible character U\+200C/],
      ['a soft hyphen', 'user@pay\u00adpal.com', /invisible character U\+00AD/],
      ['a byte order mark', 'user@pay\ufeffpal.com', /invisible character U\+FEFF/],
      ['full-width letters', 'user@ｐａｙｐａｌ.com', /changes when encoded \(it would go out as paypal\.com\)/],
      ['an ideographic full stop as a dot', 'user@paypal\u3002com', /changes when encoded/],
      ['an emoji', 'user@i❤.com', /"❤" \(U\+2764\).*not a letter, digit or hyphen/],
      ['invalid punycode', 'user@xn--zz-.com', /not a valid host name|not valid punycode/],
    ])('refuses %s', async (_, address, message) => {
      expectRefused(await send({ ...ok, to: ['ann@example.com', address] }), 400, 'VALIDATION_FAILED', message, rig.smtp, 1);
    });

    it('refuses a look-alike sender address in the mail settings', async () => {
      const r = await rig.api.put('/api/settings/mail', { senderAddress: 'billing@pаypal.com', server: { mode: 'custom', host: '127.0.0.1', port: rig.smtp.port, security: 'none' } });
      expectRefused(r, 400, 'VALIDATION_FAILED', /senderAddress "billing@p.ypal\.com" has a domain label "pаypal" that mixes Latin and Cyrillic/);
    });
  });

  describe('fields the API does not have', () => {
    it.each(['raw', 'headers', 'envelope', 'path', 'href', 'list', 'attachments', 'from', 'sender', 'replyTo', 'messageId', 'date', 'dkim', '__proto__', 'constructor'])(
      'refuses a top-level "%s"',
      async (key) => {
        const body = `{"title":"Fine","html":"<p>fine</p>","to":["ann@example.com"],${JSON.stringify(key)}:{"path":"/etc/passwd","Bcc":"x@evil.example"}}`;
        const r = await postRaw(rig, '/api/mail/send', body, 'application/json');
        expectRefused(r, 400, 'VALIDATION_FAILED', new RegExp(`unknown field\\(s\\) "${key}"`), rig.smtp, 1);
      },
    );

    it.each([
      ['raw', { accountId: 'abc', raw: 'From: x' }, /to\.0: unknown field\(s\) "raw"/],
      ['headers', { accountId: 'abc', headers: { Bcc: 'x@evil.example' } }, /to\.0: unknown field\(s\) "headers"/],
      ['envelope', { accountId: 'abc', envelope: { to: ['x@evil.example'] } }, /to\.0: unknown field\(s\) "envelope"/],
      ['path', { path: '/etc/passwd' }, /to\[0\] must be an address such as "ann@example\.com" or an object such as \{"accountId": "…"\} or \{"group": "…"\}/],
      ['href', { href: 'http://169.254.169.254/latest/meta-data/' }, /to\[0\] must be an address/],
      ['list', { list: ['a@example.com', 'b@example.com'] }, /to\[0\] must be an address/],
      ['address and name', { address: 'ann@example.com', name: 'Ann' }, /to\[0\] must be an address/],
    ])('refuses "%s" inside a recipient object', async (_, recipient, message) => {
      expectRefused(await send({ ...ok, to: [recipient] }), 400, 'VALIDATION_FAILED', message, rig.smtp, 1);
    });

    it('refuses a recipient that is a number or an array, and an empty accountId, in words', async () => {
      expectRefused(await send({ ...ok, cc: [42] }), 400, 'VALIDATION_FAILED', /cc\[0\] must be an address/, rig.smtp, 1);
      expectRefused(await send({ ...ok, bcc: [['a@example.com']] }), 400, 'VALIDATION_FAILED', /bcc\[0\] must be an address/, rig.smtp, 1);
      expectRefused(await send({ ...ok, to: [{ accountId: '' }] }), 400, 'VALIDATION_FAILED', /to\.0\.accountId/, rig.smtp, 1);
    });

    it('refuses the same fields in a multipart body, also inside a JSON recipient and as a "__proto__" field', async () => {
      const base = [text('title', 'Fine'), text('html', '<p>fine</p>'), text('to', 'ann@example.com')];
      for (const key of ['raw', 'headers', 'envelope', 'path', 'href', 'list', '__proto__']) {
        expectRefused(await sendMultipart([...base, text(key, 'x')]), 400, 'VALIDATION_FAILED', new RegExp(`unknown field\\(s\\) "${key}"`), rig.smtp, 1);
      }
      const inside = await sendMultipart([...base, text('cc', '{"accountId":"abc","raw":"From: x"}')]);
      expectRefused(inside, 400, 'VALIDATION_FAILED', /cc\.0: unknown field\(s\) "raw"/, rig.smtp, 1);
    });
  });

  describe('the shape of the request', () => {
    it('refuses 10,000 recipients in one field or spread over to, cc and bcc, without parsing them', async () => {
      const many = Array.from({ length: 10_000 }, (_, i) => `r${i}@example.com`);
      const started = Date.now();
      expectRefused(await send({ ...ok, to: many }), 400, 'TOO_MANY_RECIPIENTS', /^A mail can go to at most 100 recipients; this one has 10000\.$/, rig.smtp, 1);
      const ms = Date.now() - started;
      expect(ms).toBeLessThan(2_000);
      console.log(`[figures] 10,000 recipients refused in ${ms} ms`);
      const spread = await send({ ...ok, to: many.slice(0, 3_000), cc: many.slice(3_000, 6_000), bcc: many.slice(6_000) });
      expectRefused(spread, 400, 'TOO_MANY_RECIPIENTS', /this one has 10000/, rig.smtp, 1);
      const asJson = await sendMultipart([text('title', 'Fine'), text('html', '<p>x</p>'), text('to', JSON.stringify(many))]);
      expectRefused(asJson, 400, 'TOO_MANY_RECIPIENTS', /this one has 10000/, rig.smtp, 1);
      const repeated = await sendMultipart([text('title', 'Fine'), text('html', '<p>x</p>'), ...many.map((a) => text('to', a))]);
      expectRefused(repeated, 413, 'PAYLOAD_TOO_LARGE', /more text fields than this service accepts; send a list of recipients as one JSON array/, rig.smtp, 1);
    });

    it('refuses a body that is neither JSON nor multipart/form-data with 415, instead of reading it as empty', async () => {
      const json = JSON.stringify(ok);
      expectRefused(await postRaw(rig, '/api/mail/send', json, 'text/plain'), 415, 'VALIDATION_FAILED', /must be JSON \(Content-Type: application\/json\) or multipart\/form-data/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', json, null), 415, 'VALIDATION_FAILED', /must be JSON/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', 'title=x&to=ann%40example.com', 'application/x-www-form-urlencoded'), 415, 'VALIDATION_FAILED', /must be JSON/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', '--x--\r\n', 'multipart/mixed; boundary=x'), 415, 'VALIDATION_FAILED', /must be JSON/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', json, 'application/json; charset=latin1'), 415, 'VALIDATION_FAILED', /must be JSON in UTF-8/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', json, 'application/json', { 'content-encoding': 'x-unknown' }), 415, 'VALIDATION_FAILED', /Content-Encoding this service does not read/, rig.smtp, 1);
    });

    it('refuses JSON that is not an object, and JSON that is not JSON', async () => {
      expectRefused(await postRaw(rig, '/api/mail/send', '[]', 'application/json'), 400, 'VALIDATION_FAILED', /must be a JSON object/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', '"title"', 'application/json'), 400, 'VALIDATION_FAILED', /not valid JSON/, rig.smtp, 1);
      expectRefused(await postRaw(rig, '/api/mail/send', '{"title":', 'application/json'), 400, 'VALIDATION_FAILED', /not valid JSON/, rig.smtp, 1);
    });

    it('refuses a gzip body that inflates past the limit, by its inflated size', async () => {
      const bomb = gzipSync(Buffer.from(JSON.stringify({ ...ok, html: 'a'.repeat(30 * 1024 * 1024) })));
      expect(bomb.length).toBeLessThan(100 * 1024);
      const r = await postRaw(rig, '/api/mail/send', bomb, 'application/json', { 'content-encoding': 'gzip' });
      expectRefused(r, 413, 'PAYLOAD_TOO_LARGE', /^The request body is larger than the limit of 2\.4 MB; send fewer or smaller images and files\.$/, rig.smtp, 1);
    });

    it('refuses nested multipart field names, a field given twice, and a recipient list that is not JSON', async () => {
      const base = [text('title', 'Fine'), text('html', '<p>fine</p>')];
      expectRefused(await sendMultipart([...base, text('to[0][accountId]', 'abc')]), 400, 'VALIDATION_FAILED', /multipart field "to" has nested parts/, rig.smtp, 1);
      expectRefused(await sendMultipart([...base, text('to', 'ann@example.com'), text('title', 'Other')]), 400, 'VALIDATION_FAILED', /multipart field "title" is given 2 times/, rig.smtp, 1);
      expectRefused(await sendMultipart([...base, text('to', '[ "ann@example.com", ')]), 400, 'VALIDATION_FAILED', /to starts like JSON but is not valid JSON/, rig.smtp, 1);
      expectRefused(await sendMultipart([...base, text('to', '{"accountId":')]), 400, 'VALIDATION_FAILED', /to starts like JSON but is not valid JSON/, rig.smtp, 1);
    });

    it('never answered any of it with a 500', () => {
      expect(rig.server.output()).not.toMatch(/"msg":"unhandled error"/);
      expect(rig.smtp.messagesReceived).toBe(1);
    });
  });
});
