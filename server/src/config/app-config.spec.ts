import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './app-config';

const dataDir = mkdtempSync(join(tmpdir(), 'mailpage-config-'));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const load = (env: Record<string, string>) => loadConfig({ MAILPAGE_DATA_DIR: dataDir, ...env });
function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('provided relay configuration', () => {
  it('reads an smtp:// URL with credentials as STARTTLS on 587, and smtps:// as implicit TLS on 465', () => {
    const c = load({ PROVIDED_SMTP_URL: 'smtp://relay%40ops:p%40ss%3Aw0rd@relay.example', PROVIDED_FROM: 'Mail@MailPage.example' });
    expect(c.provided).toEqual({ host: 'relay.example', port: 587, security: 'starttls', auth: { user: 'relay@ops', pass: 'p@ss:w0rd' }, from: 'Mail@mailpage.example', dailyQuota: 500 });
    expect(load({ PROVIDED_SMTP_URL: 'smtps://u:p@relay.example', PROVIDED_FROM: 'mail@mailpage.example', PROVIDED_DAILY_QUOTA: '20' }).provided).toMatchObject({ port: 465, security: 'tls', dailyQuota: 20 });
    expect(load({ PROVIDED_SMTP_URL: 'smtp://10.0.0.5:25?security=none', PROVIDED_FROM: 'mail@mailpage.example' }).provided).toMatchObject({ host: '10.0.0.5', port: 25, security: 'none', auth: null });
    expect(load({}).provided).toBeNull();
  });

  it('lists every problem of the relay settings, never quoting the URL with its password', () => {
    const p = problems({ PROVIDED_SMTP_URL: 'http://user:hunter2-SECRET@relay.example', DKIM_DOMAIN: 'mailpage.example' });
    expect(p).toEqual([
      'PROVIDED_FROM: required with PROVIDED_SMTP_URL (the address relayed mail is sent from, e.g. mail@mailpage.example)',
      'PROVIDED_SMTP_URL: must start with smtp:// or smtps:// (expected smtp://user:password@relay.example:587 or smtps://user:password@relay.example:465)',
      'DKIM_SELECTOR: required with DKIM_DOMAIN (the name of the key record, <selector>._domainkey.<domain>)',
      'DKIM_PRIVATE_KEY: required with DKIM_DOMAIN (PEM text, or a file path in DKIM_PRIVATE_KEY_FILE)',
    ]);
    const all = [
      ...problems({ PROVIDED_SMTP_URL: 'smtp://user:hunter2-SECRET@relay.example:587?tls=off', PROVIDED_FROM: 'mail@mailpage.example' }),
      ...problems({ PROVIDED_SMTP_URL: 'smtp://user@relay.example', PROVIDED_FROM: 'Ops <mail@mailpage.example>' }),
      ...problems({ PROVIDED_SMTP_URL: 'smtps://user:hunter2-SECRET@relay.example?security=none', PROVIDED_FROM: 'mail@mailpage.example' }),
      ...problems({ PROVIDED_SMTP_URL: 'smtp://user:hunter2-SECRET@relay.example' }),
      ...problems({ PROVIDED_FROM: 'mail@mailpage.example' }),
    ];
    expect(all).toEqual([
      'PROVIDED_SMTP_URL: has an unknown option "tls"; only ?security=tls|starttls|none is understood (expected smtp://user:password@relay.example:587 or smtps://user:password@relay.example:465)',
      'PROVIDED_FROM: must be a bare email address such as mail@mailpage.example',
      'PROVIDED_SMTP_URL: has a user name but no password (expected smtp://user:password@relay.example:587 or smtps://user:password@relay.example:465)',
      'PROVIDED_SMTP_URL: smtps:// is implicit TLS; use smtp:// with ?security=starttls or none (expected smtp://user:password@relay.example:587 or smtps://user:password@relay.example:465)',
      'PROVIDED_FROM: required with PROVIDED_SMTP_URL (the address relayed mail is sent from, e.g. mail@mailpage.example)',
      'PROVIDED_FROM: only used with PROVIDED_SMTP_URL; set both or neither',
    ]);
    expect(JSON.stringify([p, all])).not.toContain('hunter2');
  });

  it('reads the DKIM key from the environment (with \\n escapes) or a file, and checks it', () => {
    const base = { PROVIDED_SMTP_URL: 'smtp://u:p@relay.example', PROVIDED_FROM: 'mail@news.mailpage.example', DKIM_DOMAIN: 'MailPage.example', DKIM_SELECTOR: 'mp2026' };
    const inline = load({ ...base, DKIM_PRIVATE_KEY: rsa.replace(/\n/g, '\\n') }).dkim!;
    expect(inline).toMatchObject({ domain: 'mailpage.example', selector: 'mp2026' });
    expect(inline.privateKey.asymmetricKeyType).toBe('rsa');
    const file = join(dataDir, 'dkim.pem');
    writeFileSync(file, rsa);
    expect(load({ ...base, DKIM_PRIVATE_KEY_FILE: file }).dkim!.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(problems({ ...base, DKIM_PRIVATE_KEY: ec })).toEqual(['DKIM_PRIVATE_KEY: must be an RSA key (rsa-sha256, RFC 6376); this is ec']);
    expect(problems({ ...base, DKIM_PRIVATE_KEY: 'not a key' })).toEqual([
      'DKIM_PRIVATE_KEY: is not a PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY") without a passphrase',
    ]);
    expect(problems({ ...base, DKIM_PRIVATE_KEY_FILE: join(dataDir, 'missing.pem') })).toEqual(['DKIM_PRIVATE_KEY_FILE: cannot be read']);
    expect(problems({ ...base, DKIM_PRIVATE_KEY: rsa, DKIM_PRIVATE_KEY_FILE: file })).toEqual(['DKIM_PRIVATE_KEY_FILE: set either DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE, not both']);
  });

  it('refuses a DKIM domain that would not align with the From address for DMARC', () => {
    expect(problems({ PROVIDED_SMTP_URL: 'smtp://u:p@relay.example', PROVIDED_FROM: 'mail@mailpage.example', DKIM_DOMAIN: 'other.example', DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY: rsa })).toEqual([
      'DKIM_DOMAIN: must be the domain of PROVIDED_FROM (mailpage.example) or a parent of it, or DMARC will not accept the signature',
    ]);
    expect(problems({ DKIM_DOMAIN: 'mailpage.example', DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY: rsa })).toEqual([
      'DKIM_DOMAIN: DKIM signing applies to mail through the provided relay; set PROVIDED_SMTP_URL too',
    ]);
  });
});

describe('OAuth2 token endpoints', () => {
  it('defaults to Microsoft’s and Google’s, and accepts https or a loopback test endpoint', () => {
    expect(load({}).oauth2).toEqual({ microsoftAuthorityHost: 'https://login.microsoftonline.com', googleTokenUrl: 'https://oauth2.googleapis.com/token' });
    expect(load({ MICROSOFT_AUTHORITY_HOST: 'http://127.0.0.1:4000/', GOOGLE_TOKEN_URL: 'http://localhost:4000/google/token' }).oauth2).toEqual({
      microsoftAuthorityHost: 'http://127.0.0.1:4000',
      googleTokenUrl: 'http://localhost:4000/google/token',
    });
    expect(problems({ MICROSOFT_AUTHORITY_HOST: 'http://login.example/tenant', GOOGLE_TOKEN_URL: 'token' })).toEqual([
      'MICROSOFT_AUTHORITY_HOST: must be an https:// URL',
      'MICROSOFT_AUTHORITY_HOST: must be a bare origin such as https://login.microsoftonline.com',
      'GOOGLE_TOKEN_URL: must be a URL',
    ]);
  });
});
