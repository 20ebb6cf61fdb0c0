import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { collect, encodable, estimatedSize } from './message-bytes';

const chunks = (sizes: number[]) => sizes.map((n, i) => Buffer.alloc(n, 97 + i));

describe('message bytes', () => {
  it('collects a stream into one buffer when the estimate is large enough', async () => {
    const parts = chunks([10, 20, 30]);
    const out = await collect(Readable.from(parts), 100);
    expect(out.equals(Buffer.concat(parts))).toBe(true);
  });

  it('keeps every byte, in order, when the message outgrows the estimate', async () => {
    const parts = chunks([10, 20, 30, 5]);
    const out = await collect(Readable.from(parts), 25);
    expect(out.equals(Buffer.concat(parts))).toBe(true);
  });

  it('estimates at least the size nodemailer writes for a big attachment and a long body', async () => {
    const attachment = randomBytes(3 * 1024 * 1024 + 1);
    const html = `<p>${'é = x '.repeat(20_000)}</p>`;
    const raw = await new MailComposer({ from: 'a@example.com', to: 'b@example.com', subject: 's', html, text: html, encoding: 'quoted-printable', attachments: [{ filename: 'a.bin', content: encodable(attachment), contentTransferEncoding: 'base64' }] })
      .compile()
      .build();
    expect(estimatedSize([attachment.length], [html, html], 1)).toBeGreaterThanOrEqual(raw.length);
  });

  it('hands a big file over in slices that decode to the same bytes, a fresh stream each time', async () => {
    const attachment = randomBytes(1024 * 1024 + 7);
    for (let i = 0; i < 2; i++) {
      const raw = await new MailComposer({ from: 'a@example.com', to: 'b@example.com', subject: 's', text: 'x', attachments: [{ filename: 'a.bin', content: encodable(attachment), contentTransferEncoding: 'base64' }] })
        .compile()
        .build();
      const parsed = await PostalMime.parse(raw);
      expect(Buffer.from(parsed.attachments[0].content as ArrayBuffer).equals(attachment)).toBe(true);
    }
  });
});
