import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/app-config';
import { DkimSigner, dkimSign } from './dkim';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY = { domainName: 'mailpage.example', keySelector: 'mp2026', privateKey };
const TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

/** mailauth (an independent verifier) with a resolver that serves only our test key's TXT record. */
async function verify(raw: Buffer | string) {
  const res = await dkimVerify(raw, {
    resolver: async (name: string, type: string) => {
      if (type === 'TXT' && name === 'mp2026._domainkey.mailpage.example') return [[TXT]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    },
  });
  return res.results;
}

const mail = (body: string, extraHeaders: string[] = []) =>
  Buffer.from(
    [
      '"Docs team" <mail@mailpage.example>'.replace(/^/, 'From: '),
      'Reply-To: docs@customer.example',
      'To: ann@example.com',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
      'Date: Sun, 22 Nov 2026 10:00:00 +0000',
      'Message-ID: <abc@mailpage.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      ...extraHeaders,
      '',
      body,
    ].join('\r\n'),
  );

describe('DKIM signing of relayed mail', () => {
  it('produces a signature an independent verifier accepts, aligned with the From domain', async () => {
    const signed = dkimSign(mail('Hello Ann,\r\nthe page is attached.\r\n'), KEY);
    expect(signed.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=mailpage\.example;/);
    const [r] = await verify(signed);
    expect(r.status.result).toBe('pass');
    expect(r.signingDomain).toBe('mailpage.example');
    expect(r.selector).toBe('mp2026');
    expect(r.status.aligned).toBe('mailpage.example');
  });

  it('signs From, Reply-To, Subject and the other listed headers', () => {
    const signed = dkimSign(mail('x'), KEY).toString('latin1');
    const h = /\bh=([^;]+);/.exec(signed.replace(/\r\n\s+/g, ''))![1].split(':');
    expect(h).toEqual(expect.arrayContaining(['from', 'reply-to', 'subject', 'date', 'message-id', 'to', 'mime-version', 'content-type']));
  });

  it('survives what relaxed canonicalisation allows and nothing more', async () => {
    const body = 'line with trailing spaces   \r\n\ttabs\tand  runs  \r\n\r\n\r\n';
    const signed = dkimSign(mail(body), KEY);
    expect((await verify(signed))[0].status.result).toBe('pass');
    // A relay that re-folds whitespace or drops trailing blank lines does not break it.
    const rewhitespaced = Buffer.from(signed.toString('latin1').replace('line with trailing spaces   ', 'line  with trailing spaces').replace(/(\r\n)+$/, '\r\n'), 'latin1');
    expect((await verify(rewhitespaced))[0].status.result).toBe('pass');
    // A changed word does.
    const tampered = Buffer.from(signed.toString('latin1').replace('tabs', 'tabz'), 'latin1');
    // mailauth reports a body hash mismatch as "neutral" (RFC 6376 §3.9): anything but a pass.
    expect((await verify(tampered))[0].status.result).not.toBe('pass');
    const otherFrom = Buffer.from(signed.toString('latin1').replace('From: "Docs team" <mail@mailpage.example>', 'From: "Docs team" <ceo@mailpage.example>'), 'latin1');
    expect((await verify(otherFrom))[0].status.result).toBe('fail');
  });

  it('signs the bytes that go on the wire: bare LF line ends become CRLF first', async () => {
    const lf = Buffer.from(mail('one\r\ntwo\r\n').toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const signed = dkimSign(lf, KEY);
    expect(signed.includes('\n')).toBe(true);
    expect(/[^\r]\n/.test(signed.toString('latin1'))).toBe(false);
    expect((await verify(signed))[0].status.result).toBe('pass');
  });

  it('signs 8-bit and multipart bodies, and a body that is empty', async () => {
    const multipart = mail(['--b1', 'Content-Type: text/plain; charset=utf-8', '', 'Grüße aus Köln', '--b1--', ''].join('\r\n'), []).toString('latin1').replace('Content-Type: text/plain; charset=utf-8', 'Content-Type: multipart/alternative; boundary="b1"');
    expect((await verify(dkimSign(Buffer.from(multipart, 'latin1'), KEY)))[0].status.result).toBe('pass');
    expect((await verify(dkimSign(mail(''), KEY)))[0].status.result).toBe('pass');
  });

  it('does not verify with another key', async () => {
    const signed = dkimSign(mail('Hello'), { ...KEY, privateKey: otherKey });
    expect((await verify(signed))[0].status.result).toBe('fail');
  });

  it('leaves mail alone when the operator configured no key', () => {
    const raw = mail('x');
    const none = new DkimSigner({ dkim: null } as unknown as AppConfig);
    expect(none.enabled).toBe(false);
    expect(none.sign(raw)).toBe(raw);
    const on = new DkimSigner({ dkim: { domain: 'mailpage.example', selector: 'mp2026', privateKey } } as unknown as AppConfig);
    expect(on.enabled).toBe(true);
    expect(on.sign(raw).toString('latin1').startsWith('DKIM-Signature:')).toBe(true);
  });
});
