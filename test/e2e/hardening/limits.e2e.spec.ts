import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused, MAIL_MAX_BYTES, multipart, postRaw, startRig, type Part, type Rig } from './support';

/**
 * Sizes and counts: too many recipients and files, a file one byte over the limit, bodies of 30 and 50 MB, and
 * multipart bodies that are malformed. Each is a 413 (too large) or a 400 (malformed) in our error shape, and the SMTP
 * server receives nothing. MAIL_MAX_BYTES is 1 MiB here, so the request limit is 2.4 MB.
 */
describe('hardening: sizes, counts and malformed bodies', () => {
  let rig: Rig;
  const fields = (over: Record<string, string> = {}): Part[] =>
    Object.entries({ title: 'Sizes', html: '<p>sizes</p>', to: 'ann@example.com', ...over }).map(([name, value]) => ({ name, value }));
  const file = (name: 'attachments' | 'images' | string, filename: string, value: Buffer | string, contentType = 'application/octet-stream'): Part => ({ name, filename, value, contentType });
  const post = (parts: Part[], path = '/api/mail/send') => {
    const { body, contentType } = multipart(parts);
    return postRaw(rig, path, body, contentType);
  };
  /** Peak resident memory of the server process so far (Linux), in MB. */
  const peakRssMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${rig.server.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.stop());

  it('refuses a multipart upload larger than a request may be, holding no more of it than the limit (figures: bytes read, peak memory)', async () => {
    // Files of 512 kB, attachments and images by turns: the 201st file is over the count of files per request.
    const boundary = 'streamb0undary';
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const rssBefore = peakRssMb();
    const started = Date.now();
    const { status, body, sent } = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sentBytes = 0;
      let answered = false;
      const req = request(`${rig.server.url}/api/mail/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.server.localToken}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          answered = true;
          resolve({ status: res.statusCode ?? 0, body: text, sent: sentBytes });
          req.destroy();
        });
      });
      req.on('error', (e) => (answered ? undefined : reject(e)));
      const write = async (b: Buffer | string) => {
        sentBytes += b.length;
        if (!req.write(b)) await new Promise((r) => req.once('drain', r));
      };
      void (async () => {
        // 205 files, then the end of the body.
        for (let i = 0; i < 205 && !answered; i++) {
          await write(`--${boundary}\r\nContent-Disposition: form-data; name="${i % 2 ? 'images' : 'attachments'}"; filename="f${i}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
          for (let n = 0; n < 8 && !answered; n++) await write(chunk);
          await write('\r\n');
        }
        if (!answered) req.end(`--${boundary}--\r\n`);
      })().catch(() => undefined);
    });
    expect(status).toBe(413);
    // The body is cut at the request limit (2.4 MB here), long before the count of files is over.
    expect(JSON.parse(body)).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request body is larger than the limit of 2.4 MB; send fewer or smaller images and files.',
    });
    expect(peakRssMb() - rssBefore).toBeLessThan(60);
    expect(rig.smtp.messagesReceived).toBe(0);
    console.log(`[figures] 205 files of 512 kB: answered 413 when the client had written ${(sent / 1048576).toFixed(0)} MB, ${Date.now() - started} ms; server peak RSS ${rssBefore.toFixed(0)} → ${peakRssMb().toFixed(0)} MB`);
  });

  it('refuses a multipart body whose declared length is over the limit before reading it', async () => {
    const { body, contentType } = multipart([...fields(), file('attachments', 'a.bin', Buffer.alloc(900 * 1024, 1)), file('attachments', 'b.bin', Buffer.alloc(900 * 1024, 2)), file('images', 'c.png', Buffer.alloc(900 * 1024, 3), 'image/png')]);
    const r = await postRaw(rig, '/api/mail/send', body, contentType);
    expectRefused(r, 413, 'PAYLOAD_TOO_LARGE', /^The request body is 2\.\d MB, over the limit of 2\.4 MB; send fewer or smaller images and files\.$/, rig.smtp);
  });

  it('refuses 500 attachments, and 150 images, naming the field and the limit', async () => {
    const many = Array.from({ length: 500 }, (_, i) => file('attachments', `f${i}.txt`, `file ${i}`, 'text/plain'));
    expectRefused(await post([...fields(), ...many]), 413, 'PAYLOAD_TOO_LARGE', /^The upload has too many files in "attachments": a mail may carry at most 100\.$/, rig.smtp);
    const images = Array.from({ length: 150 }, (_, i) => file('images', `i${i}.png`, 'x', 'image/png'));
    expectRefused(await post([...fields(), ...images]), 413, 'PAYLOAD_TOO_LARGE', /too many files in "images": a mail may carry at most 100\./, rig.smtp);
  });

  it('sends the largest attachment that fits, and refuses one a single byte larger', async () => {
    // The limit is on the composed mail (base64 and headers included). One preview gives the size around the file;
    // base64 in lines of 76 characters then says which file size is the largest that fits, checked on both sides.
    const preview = (size: number) => post([...fields(), file('attachments', 'data.bin', Buffer.alloc(size, 0x41))], '/api/mail/preview');
    const encoded = (n: number) => 4 * Math.ceil(n / 3) + 2 * Math.ceil((4 * Math.ceil(n / 3)) / 76);
    const probe = 700_000;
    const overhead = (await preview(probe)).body.size - encoded(probe);
    let low = probe;
    while (overhead + encoded(low + 1) <= MAIL_MAX_BYTES) low++;
    const fits = async (size: number) => (await preview(size)).status === 200;
    while (await fits(low + 1)) low++;
    while (!(await fits(low))) low--;
    const largest = low;
    expect(largest).toBeGreaterThan(0.7 * MAIL_MAX_BYTES);
    const sent = await post([...fields(), file('attachments', 'data.bin', Buffer.alloc(largest, 0x41))]);
    expect(sent.status, sent.text).toBe(200);
    expect(rig.smtp.messagesReceived).toBe(1);
    expect(rig.smtp.mails[0].raw.length).toBeLessThanOrEqual(MAIL_MAX_BYTES);
    const over = await post([...fields(), file('attachments', 'data.bin', Buffer.alloc(largest + 1, 0x41))]);
    expectRefused(over, 413, 'MAIL_TOO_LARGE', /^The mail would be 1(\.\d)? MB, over the limit of 1 MB; leave out some attachments or images\.$/, rig.smtp, 1);
    expect(over.body.details.limit).toBe(MAIL_MAX_BYTES);
    expect(over.body.details.size).toBeGreaterThan(MAIL_MAX_BYTES);
    expect(over.body.details.size).toBeLessThan(MAIL_MAX_BYTES + 8);
    console.log(`[figures] largest attachment in a ${MAIL_MAX_BYTES}-byte mail: ${largest} bytes (${((largest / MAIL_MAX_BYTES) * 100).toFixed(1)} %)`);
  });

  it('refuses a file over the per-file limit while it is uploaded, naming the field', async () => {
    const mailSized = await post([...fields(), file('attachments', 'big.bin', Buffer.alloc(MAIL_MAX_BYTES + 1, 1))]);
    expectRefused(mailSized, 413, 'MAIL_TOO_LARGE', /over the limit of 1 MB/, rig.smtp, 1);
    const over = await post([...fields(), file('attachments', 'big.bin', Buffer.alloc(MAIL_MAX_BYTES + 2, 1))]);
    expectRefused(over, 413, 'PAYLOAD_TOO_LARGE', /^A file in "attachments" is larger than a whole mail may be; leave it out or make it smaller\.$/, rig.smtp, 1);
  });

  it('refuses a 30 MB JSON body with the sizes, with or without a Content-Length', async () => {
    const body = JSON.stringify({ title: 'Big', to: ['ann@example.com'], html: `<p>${'x'.repeat(30 * 1024 * 1024)}</p>` });
    const started = Date.now();
    const r = await postRaw(rig, '/api/mail/send', body, 'application/json');
    expectRefused(r, 413, 'PAYLOAD_TOO_LARGE', /^The request body is 30(\.\d)? MB, over the limit of 2\.4 MB; send fewer or smaller images and files\.$/, rig.smtp, 1);
    const chunked = await postRaw(rig, '/api/mail/send', new Blob([body]).stream(), 'application/json');
    expectRefused(chunked, 413, 'PAYLOAD_TOO_LARGE', /^The request body is larger than the limit of 2\.4 MB/, rig.smtp, 1);
    console.log(`[figures] 30 MB JSON body refused, twice, in ${Date.now() - started} ms`);
  });

  it('refuses a 50 MB data: image by the body limit (JSON) and the field limit (multipart)', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const huge = `<img src="data:image/png;base64,${Buffer.concat([png, Buffer.alloc(37.5 * 1024 * 1024)]).toString('base64')}">`;
    expect(huge.length).toBeGreaterThan(50 * 1024 * 1024);
    const json = await postRaw(rig, '/api/mail/send', JSON.stringify({ title: 'Img', to: ['ann@example.com'], html: huge }), 'application/json');
    expectRefused(json, 413, 'PAYLOAD_TOO_LARGE', /^The request body is 50(\.\d)? MB, over the limit of 2\.4 MB/, rig.smtp, 1);
    const form = await post(fields({ html: huge }));
    expectRefused(form, 413, 'PAYLOAD_TOO_LARGE', /^(The multipart field "html" is larger than this service accepts|The request body is 50(\.\d)? MB, over the limit of 2\.4 MB; send fewer or smaller images and files)\.$/, rig.smtp, 1);
  });

  it('refuses a data: image over the mail limit by the length of its text, before decoding it', async () => {
    // Within the request limit, over the mail limit, and not valid base64 at its end: had it been decoded first, the
    // image would have been dropped as broken and the mail sent.
    const payload = `${'A'.repeat(Math.ceil(1.5 * 1024 * 1024))}!!!!`;
    const r = await rig.api.post('/api/mail/send', { title: 'Img', to: ['ann@example.com'], html: `<img src="data:image/png;base64,${payload}">` });
    expectRefused(r, 413, 'MAIL_TOO_LARGE', /^An image embedded in the page is 1\.6 MB, over the mail size limit of 1 MB; leave it out or make it smaller\.$/, rig.smtp, 1);
  });

  describe('malformed multipart bodies', () => {
    const raw = (body: string, contentType = 'multipart/form-data; boundary=b0undary') => postRaw(rig, '/api/mail/send', body, contentType);
    const head = '--b0undary\r\nContent-Disposition: form-data; name="title"\r\n\r\nHi\r\n';

    it('refuses a Content-Type without a boundary', async () => {
      expectRefused(await raw(`${head}--b0undary--\r\n`, 'multipart/form-data'), 400, 'VALIDATION_FAILED', /^The multipart body is malformed: its Content-Type header has no boundary\.$/, rig.smtp, 1);
    });

    it('refuses a body whose parts use another boundary than the header names', async () => {
      expectRefused(await raw(`${head}--b0undary--\r\n`, 'multipart/form-data; boundary=other'), 400, 'VALIDATION_FAILED', /ends before its closing boundary/, rig.smtp, 1);
    });

    it('refuses a truncated part', async () => {
      const cut = `${head}--b0undary\r\nContent-Disposition: form-data; name="attachments"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 and then noth`;
      expectRefused(await raw(cut), 400, 'VALIDATION_FAILED', /^The multipart body is malformed: it ends before its closing boundary \(was it cut off\?\)\.$/, rig.smtp, 1);
    });

    it('refuses a part header that cannot be read', async () => {
      const bad = `--b0undary\r\n${'X'.repeat(90 * 1024)}\r\n\r\nHi\r\n--b0undary--\r\n`;
      expectRefused(await raw(bad), 400, 'VALIDATION_FAILED', /^The multipart body is malformed: a part has a header that cannot be read\.$/, rig.smtp, 1);
    });

    it('refuses a file in a field other than attachments and images', async () => {
      for (const name of ['file', 'raw', 'attachment']) {
        const r = await post([...fields(), file(name, 'x.pdf', '%PDF')]);
        expectRefused(r, 400, 'VALIDATION_FAILED', new RegExp(`^The upload has a file in the field "${name}"; files go in "attachments" or "images"\\.$`), rig.smtp, 1);
      }
    });

    it('refuses a part without a field name', async () => {
      const r = await raw(`${head}--b0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b0undary--\r\n`);
      expectRefused(r, 400, 'VALIDATION_FAILED', /^The multipart body has a part without a field name\.$/, rig.smtp, 1);
    });

    it('refuses too many text fields, and too many parts in all', async () => {
      const texts = Array.from({ length: 1001 }, (_, i) => ({ name: 'cc', value: `r${i}@example.com` }));
      expectRefused(await post(texts), 413, 'PAYLOAD_TOO_LARGE', /more text fields than this service accepts/, rig.smtp, 1);
      const files = [...Array.from({ length: 100 }, (_, i) => file('attachments', `a${i}`, 'a')), ...Array.from({ length: 100 }, (_, i) => file('images', `i${i}`, 'i'))];
      const parts = [...files, ...texts.slice(0, 1000), { name: 'bcc', value: 'x@example.com' }];
      expectRefused(await post(parts), 413, 'PAYLOAD_TOO_LARGE', /more (parts|text fields) than this service accepts/, rig.smtp, 1);
    });
  });

});
