import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import nodemailer from 'nodemailer';
import PostalMime from 'postal-mime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MailCatcher } from './mail-catcher';

const FROM = 'mailpage@mailpage.test';

function raw(subject: string, to = 'ann@example.com'): Buffer {
  return Buffer.from([`From: Mailpage <${FROM}>`, `To: ${to}`, `Subject: ${subject}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', `Body of ${subject}`, ''].join('\r\n'));
}

describe('local mail catcher', () => {
  let catcher: MailCatcher;
  let port: number;

  beforeEach(async () => {
    catcher = new MailCatcher();
    port = await catcher.start(0);
  });

  afterEach(async () => {
    await catcher.stop();
  });

  const transport = (extra: Record<string, unknown> = {}) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, logger: false, debug: false, ...extra });

  it('listens on a free loopback port when asked for port 0', () => {
    expect(port).toBeGreaterThan(0);
    expect(catcher.port).toBe(port);
  });

  it('keeps a mail sent to it with its envelope and exact bytes, including a bcc recipient', async () => {
    const message = raw('Hello');
    const info = await transport().sendMail({ envelope: { from: FROM, to: ['ann@example.com', 'bcc@example.com'] }, raw: message });
    expect(info.response).toMatch(/^250 /);
    const [mail] = catcher.list();
    expect(mail.envelope).toEqual({ from: FROM, to: ['ann@example.com', 'bcc@example.com'] });
    expect(mail.raw.equals(message)).toBe(true);
    expect(mail.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(mail.receivedAt).toBeInstanceOf(Date);
    expect(catcher.get(mail.id)).toBe(mail);
    expect((await PostalMime.parse(mail.raw)).subject).toBe('Hello');
  });

  it('accepts any username and password, so configured credentials work against it', async () => {
    await transport({ auth: { user: 'someone', pass: 'anything' }, forceAuth: true }).sendMail({ envelope: { from: FROM, to: ['ann@example.com'] }, raw: raw('With login') });
    expect(catcher.list()[0].envelope.to).toEqual(['ann@example.com']);
  });

  it('keeps only the last 50 mails, newest first', async () => {
    const pooled = transport({ pool: true, maxConnections: 3 });
    try {
      for (let i = 1; i <= 52; i++) {
        await pooled.sendMail({ envelope: { from: FROM, to: [`r${i}@example.com`] }, raw: raw(`Mail ${i}`) });
      }
    } finally {
      pooled.close();
    }
    const list = catcher.list();
    expect(list).toHaveLength(50);
    expect(list[0].envelope.to).toEqual(['r52@example.com']);
    expect(list[49].envelope.to).toEqual(['r3@example.com']);
    expect(list.map((m) => m.receivedAt.getTime())).toEqual([...list.map((m) => m.receivedAt.getTime())].sort((a, b) => b - a));
    // The two oldest are gone for good.
    expect(list.some((m) => m.envelope.to[0] === 'r1@example.com' || m.envelope.to[0] === 'r2@example.com')).toBe(false);
  });

  it('forgets everything on clear', async () => {
    await transport().sendMail({ envelope: { from: FROM, to: ['ann@example.com'] }, raw: raw('Gone soon') });
    const id = catcher.list()[0].id;
    catcher.clear();
    expect(catcher.list()).toEqual([]);
    expect(catcher.get(id)).toBeUndefined();
  });

  it('waits for a matching mail, and gives up after the timeout', async () => {
    const waiting = catcher.waitFor((m) => m.envelope.to.includes('late@example.com'), 5000);
    await transport().sendMail({ envelope: { from: FROM, to: ['late@example.com'] }, raw: raw('Late') });
    expect((await waiting).envelope.to).toEqual(['late@example.com']);
    // A mail already caught is found at once.
    expect((await catcher.waitFor((m) => m.envelope.to.includes('late@example.com'), 10)).envelope.to).toEqual(['late@example.com']);
    await expect(catcher.waitFor((m) => m.envelope.to.includes('never@example.com'), 50)).rejects.toThrow('no matching mail');
  });

  it('offers login but no STARTTLS', async () => {
    const ehlo = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (/^220 /m.test(text) && !text.includes('EHLO sent')) {
          text += '\nEHLO sent\n';
          socket.write('EHLO test.example\r\n');
        } else if (/^250 /m.test(text)) {
          socket.end('QUIT\r\n');
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(ehlo).toContain('AUTH PLAIN LOGIN');
    expect(ehlo).not.toContain('STARTTLS');
  });

  it('listens on the loopback interface only', async () => {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === 'IPv4');
    if (!outside) return; // no other interface on this machine: nothing to reach from
    const code = await new Promise<string | undefined>((resolve) => {
      const socket = createConnection({ host: outside.address, port });
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    });
    expect(code).toBe('ECONNREFUSED');
  });

  it('stops listening on stop', async () => {
    await catcher.stop();
    await expect(transport({ connectionTimeout: 1000 }).sendMail({ envelope: { from: FROM, to: ['ann@example.com'] }, raw: raw('After stop') })).rejects.toMatchObject({
      code: 'ESOCKET',
    });
  });
});
