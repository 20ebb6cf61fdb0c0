import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error';
import { smimeTestPki, type SmimeTestPki } from '../../../test/support/crypto';
import { entityBytes } from './mime-entity';
import { readCertificateForUpload, readPkcs12, smimeSign } from './smime';

// Certificates and keystores come from the openssl CLI; what we sign, openssl verifies.

let pki: SmimeTestPki;
beforeAll(() => {
  pki = smimeTestPki();
}, 60_000);
afterAll(() => pki?.dispose());

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected a refusal');
}

function der(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

describe('S/MIME certificate upload', () => {
  it('accepts PEM text, a PEM file and a DER file, and reports what openssl reports', () => {
    const bob = pki.user('bob');
    const fingerprint = spawnSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', bob.certPath]).stdout.toString().split('=')[1].trim().replace(/:/g, '');
    for (const input of [bob.certPem, Buffer.from(bob.certPem), der(bob.certPem)]) {
      const info = readCertificateForUpload(input, 'BOB@example.com');
      expect(info).toMatchObject({ fingerprint, emails: ['bob@example.com'], keyType: 'rsa', bits: 2048, canEncrypt: true, canSign: true });
      expect(der(info.pem).equals(der(bob.certPem))).toBe(true);
    }
  });

  it('matches the address in the subject emailAddress when there is no subjectAltName', () => {
    const info = readCertificateForUpload(pki.user('subj', { email: 'subj@example.org', emailIn: 'subject' }).certPem, 'subj@example.org');
    expect(info.emails).toEqual(['subj@example.org']);
  });

  it('accepts a certificate without a keyUsage extension', () => {
    expect(readCertificateForUpload(pki.user('noku', { keyUsage: null }).certPem, 'noku@example.com').canEncrypt).toBe(true);
  });

  it('refuses a certificate for another address, naming the addresses it has', () => {
    const e = refusal(() => readCertificateForUpload(pki.user('bob').certPem, 'ann@example.com'));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toBe('This certificate is not for ann@example.com: it names bob@example.com. Upload the certificate issued to that address.');
  });

  it('refuses a certificate whose keyUsage allows only digitalSignature', () => {
    const e = refusal(() => readCertificateForUpload(pki.user('signonly', { keyUsage: 'critical,digitalSignature' }).certPem));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toMatch(/may not be used for encryption: its keyUsage lacks keyEncipherment/);
  });

  it('refuses a certificate meant for TLS servers only', () => {
    expect(refusal(() => readCertificateForUpload(pki.user('tls', { extendedKeyUsage: 'serverAuth' }).certPem)).code).toBe('KEY_INVALID');
  });

  it('refuses an expired certificate, saying when it expired', () => {
    const e = refusal(() => readCertificateForUpload(pki.user('expired', { expired: true }).certPem));
    expect(e).toMatchObject({ code: 'KEY_EXPIRED', status: 400 });
    expect(e.message).toMatch(/^This certificate expired on 2020-02-01/);
  });

  it('refuses an EC certificate for encryption', () => {
    expect(refusal(() => readCertificateForUpload(pki.user('ec', { ec: true }).certPem)).message).toMatch(/RSA certificates only/);
  });

  it('refuses garbage, a private key, and a file over 64 kB', () => {
    const bob = pki.user('bob');
    expect(refusal(() => readCertificateForUpload('not a certificate')).message).toMatch(/^This is not an X\.509 certificate/);
    expect(refusal(() => readCertificateForUpload(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))).code).toBe('KEY_INVALID');
    expect(refusal(() => readCertificateForUpload(bob.certPem + bob.keyPem)).message).toMatch(/holds a private key/);
    expect(refusal(() => readCertificateForUpload(bob.certPem + ' '.repeat(70 * 1024))).message).toMatch(/at most 64 kB/);
  });
});

describe('PKCS#12 keystores', () => {
  it('reads a modern keystore (PBES2, AES-256, HMAC-SHA-256) with its chain, byte for byte', () => {
    const alice = pki.user('alice');
    const signer = readPkcs12(alice.p12, alice.p12Password, { expectedEmail: 'alice@example.com' });
    expect(signer.certificate.der.equals(der(alice.certPem))).toBe(true);
    expect(signer.chain.map((c) => c.der.equals(der(pki.caPem)))).toEqual([true]);
    expect(signer.privateKey.asymmetricKeyType).toBe('rsa');
    expect(signer.certificate.info.canSign).toBe(true);
  });

  it('reads a legacy keystore (RC2/3DES, SHA-1 MAC)', () => {
    const alice = pki.user('alice');
    const info = spawnSync('openssl', ['pkcs12', '-info', '-noout', '-legacy', '-passin', `pass:${alice.p12Password}`], { input: alice.legacyP12 }).stderr.toString();
    expect(info).toMatch(/pbeWithSHA1And(40BitRC2|3-KeyTripleDES)/);
    const signer = readPkcs12(alice.legacyP12, alice.p12Password);
    expect(signer.certificate.der.equals(der(alice.certPem))).toBe(true);
  });

  it('says so when the password is wrong, for both kinds', () => {
    const alice = pki.user('alice');
    for (const p12 of [alice.p12, alice.legacyP12]) {
      const e = refusal(() => readPkcs12(p12, 'wrong password'));
      expect(e).toMatchObject({ code: 'KEY_PASSWORD_WRONG', status: 400, message: 'The password does not open this keystore; check it and try again.' });
    }
  });

  it('refuses garbage, another address, and a certificate that may not sign', () => {
    const alice = pki.user('alice');
    expect(refusal(() => readPkcs12(Buffer.from('PK\x03\x04 not a keystore'), 'x')).message).toMatch(/^This is not a PKCS#12 keystore/);
    expect(refusal(() => readPkcs12(alice.p12, alice.p12Password, { expectedEmail: 'ann@example.com' })).message).toMatch(/not for ann@example.com/);
    const encryptOnly = pki.user('encrypt-only', { keyUsage: 'critical,keyEncipherment' });
    expect(refusal(() => readPkcs12(encryptOnly.p12, encryptOnly.p12Password)).message).toMatch(/may not sign e-mail/);
  });

  it('signs with an EC key, and openssl verifies it', () => {
    const ec = pki.user('ec', { ec: true });
    const signer = readPkcs12(ec.p12, ec.p12Password);
    const payload = Buffer.from('Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned with P-256.\r\n');
    const signed = entityBytes(smimeSign(payload, signer));
    const result = pki.cms(['-verify', '-CAfile', pki.caPath], signed);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.equals(payload)).toBe(true);
  });
});
