import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error';
import { Gpg, generatePgpKey, pgpKey, publicKeyWithRsaSubkey, revokedPublicKey } from '../../../test/support/crypto';
import { MAX_RSA_BITS, pgpEncrypt, pgpSign, readPrivateKey, readPublicKeyForUpload, readStoredPublicKey } from './pgp';

// Key checks on upload. Keys come from openpgp.js and, where it matters, from GnuPG itself.

const DAY = 86400_000;

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DomainError);
  return e as DomainError;
}

describe('OpenPGP public key upload', () => {
  let gpg: Gpg;
  beforeAll(() => {
    gpg = new Gpg();
  });
  afterAll(() => gpg.dispose());

  it('accepts a Curve25519 key and returns the public key GnuPG reads with the same fingerprint', async () => {
    const bob = await pgpKey('bob@example.com');
    const info = await readPublicKeyForUpload(bob.publicKey, 'Bob@Example.com');
    expect(info).toMatchObject({ fingerprint: bob.fingerprint, emails: ['bob@example.com'], userIds: ['bob <bob@example.com>'], algorithm: 'eddsaLegacy', bits: null, curve: 'ed25519Legacy', expires: null, canEncrypt: true });
    expect(info.armored).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    gpg.importKey(info.armored);
    expect(gpg.run(['--with-colons', '--fingerprint', 'bob@example.com']).stdout.toString()).toContain(`fpr:::::::::${bob.fingerprint}:`);
  });

  it('accepts a key GnuPG generated, also as binary', async () => {
    const home = new Gpg();
    try {
      home.run(['--passphrase', '', '--quick-gen-key', 'Gnu <gnu@example.com>', 'future-default', 'default', '1y']);
      const armored = home.run(['--armor', '--export', 'gnu@example.com']).stdout.toString();
      const binary = home.run(['--export', 'gnu@example.com']).stdout;
      const fpr = /fpr:::::::::([0-9A-F]{40}):/.exec(home.run(['--with-colons', '--fingerprint', 'gnu@example.com']).stdout.toString())![1];
      const info = await readPublicKeyForUpload(armored, 'gnu@example.com');
      expect(info.fingerprint).toBe(fpr);
      expect(info.expires!.getTime()).toBeGreaterThan(Date.now() + 300 * DAY);
      expect((await readPublicKeyForUpload(new Uint8Array(binary))).fingerprint).toBe(fpr);

      // A key GnuPG made for signing only.
      home.run(['--passphrase', '', '--quick-gen-key', 'Signer <signer@example.com>', 'ed25519', 'sign', 'never']);
      const signOnly = home.run(['--armor', '--export', 'signer@example.com']).stdout.toString();
      const e = await refusal(readPublicKeyForUpload(signOnly));
      expect(e.code).toBe('KEY_INVALID');
      expect(e.message).toMatch(/cannot encrypt/);
    } finally {
      home.dispose();
    }
  });

  it('accepts RSA 2048 and reports its size', async () => {
    const rsa = await generatePgpKey('rsa@example.com', { rsaBits: 2048 });
    const info = await readPublicKeyForUpload(rsa.publicKey);
    expect(info).toMatchObject({ algorithm: 'rsaEncryptSign', bits: 2048, canEncrypt: true });
  });

  it('refuses an expired key, saying when it expired', async () => {
    const old = await generatePgpKey('old@example.com', { date: new Date(Date.now() - 10 * DAY), expiresInSeconds: 86400 });
    const e = await refusal(readPublicKeyForUpload(old.publicKey));
    expect(e).toMatchObject({ code: 'KEY_EXPIRED', status: 400 });
    expect(e.message).toMatch(/^This key expired on \d{4}-\d{2}-\d{2}; ask its owner for a renewed key/);
  });

  it('refuses a key whose only encryption subkey has expired', async () => {
    const created = new Date(Date.now() - 10 * DAY);
    const k = await openpgp.generateKey({ userIDs: [{ email: 'sub@example.com' }], date: created, subkeys: [{ keyExpirationTime: 86400 }], format: 'armored' });
    const e = await refusal(readPublicKeyForUpload(k.publicKey));
    expect(e.code).toBe('KEY_EXPIRED');
    expect(e.message).toMatch(/encryption subkey that expired on/);
  });

  it('refuses a revoked key', async () => {
    const e = await refusal(readPublicKeyForUpload(await revokedPublicKey(await generatePgpKey('revoked@example.com'))));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toMatch(/revoked/);
  });

  it('refuses a signing-only key', async () => {
    const e = await refusal(readPublicKeyForUpload((await generatePgpKey('signonly@example.com', { signOnly: true })).publicKey));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toMatch(/no valid encryption subkey/);
  });

  it('refuses an old DSA/ElGamal key with a reason', async () => {
    // Made once with GnuPG 2.2 (dsa2048 + elg2048); generating ElGamal keys in a test takes seconds.
    const e = await refusal(readPublicKeyForUpload(readFileSync(join(__dirname, 'testdata/dsa-elgamal-public.asc'), 'utf8')));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toBe('This key is an old DSA key, which current OpenPGP software no longer uses; ask its owner for an RSA or Curve25519 key.');
  });

  it('refuses RSA below 2048 bits (a real 1024-bit key)', async () => {
    const weak = await generatePgpKey('weak@example.com', { rsaBits: 1024 });
    const e = await refusal(readPublicKeyForUpload(weak.publicKey));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toContain('RSA key of 1024 bits; Mailpage accepts RSA keys of 2048 to 8192 bits');
  });

  it('refuses RSA above 8192 bits (a 16384-bit encryption subkey)', async () => {
    const huge = await publicKeyWithRsaSubkey('huge@example.com', 16384);
    // The crafted key is otherwise valid: openpgp itself would encrypt to it.
    expect((await (await openpgp.readKey({ armoredKey: huge })).getEncryptionKey()).getAlgorithmInfo().bits).toBe(16384);
    const e = await refusal(readPublicKeyForUpload(huge));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toContain('16384 bits');
    expect(MAX_RSA_BITS).toBe(8192);
  });

  it('refuses a 5 MB block before parsing it', async () => {
    const bob = await pgpKey('bob@example.com');
    const started = Date.now();
    const e = await refusal(readPublicKeyForUpload(bob.publicKey + '\n'.repeat(5 * 1024 * 1024)));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toMatch(/^The key block is 5121 kB; Mailpage accepts at most 64 kB/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses garbage, a secret key, and two keys at once', async () => {
    const bob = await pgpKey('bob@example.com');
    const carol = await pgpKey('carol@example.com');
    expect((await refusal(readPublicKeyForUpload('hello, this is my key'))).message).toMatch(/^This is not an OpenPGP public key/);
    expect((await refusal(readPublicKeyForUpload('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n'))).code).toBe('KEY_INVALID');
    expect((await refusal(readPublicKeyForUpload(bob.privateKey))).message).toMatch(/^This is a secret key/);
    expect((await refusal(readPublicKeyForUpload(bob.publicKey + carol.publicKey))).message).toBe('The upload holds 2 armored blocks; upload exactly one key.');
    const binary = Buffer.concat(await Promise.all([bob, carol].map(async (k) => (await openpgp.readKey({ armoredKey: k.publicKey })).write())));
    expect((await refusal(readPublicKeyForUpload(new Uint8Array(binary)))).message).toBe('The upload holds 2 keys; upload exactly one.');
  });

  it('refuses a key for another address, naming its user IDs', async () => {
    const bob = await pgpKey('bob@example.com');
    const e = await refusal(readPublicKeyForUpload(bob.publicKey, 'ann@example.com'));
    expect(e.code).toBe('KEY_INVALID');
    expect(e.message).toBe('This key is not for ann@example.com: its user IDs are bob <bob@example.com>. Upload the key whose user ID has that address.');
  });
});

describe('OpenPGP signing key', () => {
  it('unlocks with the right passphrase and reports what it can do', async () => {
    const alice = await pgpKey('alice@example.com');
    const signer = await readPrivateKey(alice.privateKey, alice.passphrase, { expectedEmail: 'alice@example.com' });
    expect(signer.key.isDecrypted()).toBe(true);
    expect(signer.info).toMatchObject({ fingerprint: alice.fingerprint, canSign: true, canEncrypt: true });
    expect(signer.info.armored).not.toContain('PRIVATE');
  });

  it('refuses a wrong passphrase, a public key, and an expired key', async () => {
    const alice = await pgpKey('alice@example.com');
    const wrong = await refusal(readPrivateKey(alice.privateKey, 'not it'));
    expect(wrong).toMatchObject({ code: 'KEY_PASSWORD_WRONG', status: 400, details: { field: 'passphrase' } });
    expect(wrong.message).toBe('The passphrase does not unlock this secret key; check it and try again.');
    expect((await refusal(readPrivateKey(alice.publicKey, alice.passphrase))).code).toBe('KEY_INVALID');
    const old = await generatePgpKey('old@example.com', { date: new Date(Date.now() - 10 * DAY), expiresInSeconds: 86400 });
    expect((await refusal(readPrivateKey(old.privateKey, old.passphrase))).code).toBe('KEY_EXPIRED');
  });
});

describe('OpenPGP encrypting and signing', () => {
  // The payload goes to openpgp as a view of the Buffer's memory, not a copy: a payload that is a slice of a larger
  // buffer (as Buffer.concat and the pool give) must be encrypted and signed as exactly its own bytes.
  const around = Buffer.from('BEFORE Content-Type: text/plain\r\n\r\nHello =E2=9C=93\r\n AFTER');
  const payload = around.subarray(7, around.length - 6);

  const armoredPart = (body: Buffer, name: string) => {
    const text = body.toString('latin1');
    const start = text.indexOf('-----BEGIN', text.indexOf(name));
    return text.slice(start, text.indexOf('-----\r\n', text.indexOf('-----END', start)) + 7);
  };

  it('encrypts and signs exactly the bytes of a payload that is a slice of a larger buffer', async () => {
    const alice = await pgpKey('alice@example.com');
    const signer = await readPrivateKey(alice.privateKey, alice.passphrase);
    const key = await readStoredPublicKey(alice.publicKey);
    const privateKey = await openpgp.readPrivateKey({ armoredKey: alice.unlockedPrivateKey });

    const encrypted = await pgpEncrypt(payload, [key], signer.key);
    const message = await openpgp.readMessage({ armoredMessage: armoredPart(encrypted.body, 'encrypted.asc') });
    const { data, signatures } = await openpgp.decrypt({ message, decryptionKeys: privateKey, verificationKeys: key, format: 'binary', expectSigned: true });
    expect(Buffer.from(data).equals(payload)).toBe(true);
    expect(await signatures[0].verified).toBe(true);

    const signed = await pgpSign(payload, signer.key);
    const signature = await openpgp.readSignature({ armoredSignature: armoredPart(signed.body, 'OpenPGP_signature.asc') });
    const verified = await openpgp.verify({ message: await openpgp.createMessage({ binary: new Uint8Array(payload) }), signature, verificationKeys: key, expectSigned: true });
    expect(await verified.signatures[0].verified).toBe(true);
    expect(signed.body.includes(payload)).toBe(true);
  });
});
