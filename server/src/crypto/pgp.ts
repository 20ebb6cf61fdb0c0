import * as openpgp from 'openpgp';
import { DomainError } from '../common/domain-error';
import { crlfText, entityBytes, entityPieces, multipartBody, newBoundary, type MimeEntity } from './mime-entity';

// PGP/MIME (RFC 3156) with openpgp.js. The MIME payload goes in and out as bytes (`createMessage({ binary })`),
// never as text, so the signed and encrypted bytes are exactly the CRLF bytes we built.

export const MAX_KEY_BLOCK_BYTES = 64 * 1024;
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;

/** Public facts about an OpenPGP key, safe to store and show. */
export interface PgpKeyInfo {
  /** Upper-case hex, no spaces. */
  fingerprint: string;
  userIds: string[];
  /** Lower-cased e-mail addresses of the valid user IDs. */
  emails: string[];
  /** Algorithm of the primary key, as openpgp names it ("rsaEncryptSign", "eddsaLegacy", "ed25519", ...). */
  algorithm: string;
  /** RSA modulus size; null for elliptic-curve keys. */
  bits: number | null;
  curve: string | null;
  created: Date;
  /** When the key stops being usable for what it was read for (encryption, or signing for a signer); null: never. */
  expires: Date | null;
  canEncrypt: boolean;
  canSign: boolean;
  /** The public key alone, re-armored: what to store and later pass to MailCryptoService. */
  armored: string;
}

export interface PgpSigner {
  /** Unlocked: keep it in memory only as long as the send takes. */
  key: openpgp.PrivateKey;
  info: PgpKeyInfo;
}

const ENCRYPTION_ALGORITHMS = new Set<string>(['rsaEncryptSign', 'rsaEncrypt', 'ecdh', 'x25519', 'x448']);
/** openpgp.js refuses these by default (config.rejectPublicKeyAlgorithms). */
const RETIRED_ALGORITHMS = new Set<string>(['dsa', 'elgamal']);
const SIGNING_ALGORITHMS = new Set<string>(['rsaEncryptSign', 'rsaSign', 'ecdsa', 'eddsaLegacy', 'ed25519', 'ed448']);

/**
 * Checks a public key someone uploads for a recipient address and returns what to store. Refuses, with
 * DomainError KEY_INVALID / KEY_EXPIRED (400) and a sentence the uploader can act on: anything over 64 kB, text that
 * is not exactly one OpenPGP key, a secret key, a revoked or expired key, a key without a usable encryption (sub)key,
 * RSA outside 2048..8192 bits, and, with `expectedEmail`, a key none of whose user IDs is that address.
 */
export async function readPublicKeyForUpload(input: string | Uint8Array, expectedEmail?: string, now: Date = new Date()): Promise<PgpKeyInfo> {
  const key = await parseSingleKey(input, 'public key', 400);
  if (key.isPrivate()) {
    throw invalid('This is a secret key. Mailpage needs only the public key: export it with "gpg --armor --export <address>" and upload that. The secret key was not stored.');
  }
  await checkUsable(key, 'encrypt', now, 400);
  const info = await describe(key, 'encrypt', now);
  if (expectedEmail) checkEmail(info, expectedEmail);
  return info;
}

/**
 * Reads and unlocks the sender's secret key on upload, to check the passphrase and show `info`.
 * KEY_PASSWORD_WRONG when the passphrase does not unlock it; KEY_INVALID / KEY_EXPIRED (400) as for public keys,
 * but for signing.
 */
export async function readPrivateKey(armored: string | Uint8Array, passphrase: string, options: { expectedEmail?: string; now?: Date } = {}): Promise<PgpSigner> {
  const signer = await openSigner(armored, passphrase, options.now ?? new Date(), 400, 'This key');
  if (options.expectedEmail) checkEmail(signer.info, options.expectedEmail);
  return signer;
}

/** At send time: unlocks the stored secret key and checks it can still sign. Every failure is a DomainError (422). */
export async function loadSigner(armored: string, passphrase: string, now: Date = new Date()): Promise<PgpSigner> {
  return openSigner(armored, passphrase, now, 422, "The sender's OpenPGP signing key");
}

async function openSigner(armored: string | Uint8Array, passphrase: string, now: Date, status: number, subject: string): Promise<PgpSigner> {
  const parsed = await parseSingleKey(armored, 'secret key', status);
  if (!parsed.isPrivate()) throw new DomainError('KEY_INVALID', status, `${subject} is a public key; signing needs the secret key (gpg --armor --export-secret-keys <address>).`);
  let key: openpgp.PrivateKey = parsed;
  if (!key.isDecrypted()) {
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch {
      throw new DomainError('KEY_PASSWORD_WRONG', status, `The passphrase does not unlock ${subject === 'This key' ? 'this secret key' : subject}; check it and try again.`, { field: 'passphrase' });
    }
  }
  await checkUsable(key, 'sign', now, status, subject);
  return { key, info: await describe(key, 'sign', now) };
}

/** Parses a key stored after readPublicKeyForUpload, without policy checks; use checkRecipientKey at send time. */
export async function readStoredPublicKey(armored: string): Promise<openpgp.PublicKey> {
  const key = await openpgp.readKey({ armoredKey: armored });
  return key.isPrivate() ? key.toPublic() : key;
}

/** At send time: a stored key may have expired or been revoked since its upload. Throws DomainError (422). */
export async function checkRecipientKey(key: openpgp.PublicKey, address: string, now: Date = new Date()): Promise<void> {
  await checkUsable(key, 'encrypt', now, 422, `The OpenPGP key for ${address}`);
}

/**
 * Encrypts (and, with a signer, signs in the same OpenPGP message: RFC 3156 section 6.2) a MIME payload as
 * multipart/encrypted. `recipients` are exactly the keys the copy is for: every key listed here is named in the
 * message by its key id.
 */
export async function pgpEncrypt(payload: Buffer, recipients: openpgp.PublicKey[], signer?: openpgp.PrivateKey, now: Date = new Date()): Promise<MimeEntity> {
  if (!recipients.length) throw new Error('pgpEncrypt needs at least one recipient key');
  const message = await openpgp.createMessage({ binary: bytesOf(payload), date: now });
  const armored = await openpgp.encrypt({ message, encryptionKeys: recipients, signingKeys: signer ? [signer] : undefined, date: now, format: 'armored' });
  const boundary = newBoundary();
  const version = entityBytes({
    headers: ['Content-Type: application/pgp-encrypted', 'Content-Description: PGP/MIME version identification'],
    body: Buffer.from('Version: 1\r\n', 'latin1'),
  });
  // As pieces: the armored message (the size of the payload, and more) is copied once, into the multipart body.
  const encrypted = entityPieces({
    headers: ['Content-Type: application/octet-stream; name="encrypted.asc"', 'Content-Description: OpenPGP encrypted message', 'Content-Disposition: inline; filename="encrypted.asc"'],
    body: [crlfText(armored)],
  });
  return {
    headers: [`Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n boundary="${boundary}"`],
    body: multipartBody(boundary, [version, encrypted]),
  };
}

/**
 * A detached signature over the payload bytes, as multipart/signed (RFC 3156 section 5). `micalg` names the hash
 * the signature really used, read back from the signature packet.
 */
export async function pgpSign(payload: Buffer, signer: openpgp.PrivateKey, now: Date = new Date()): Promise<MimeEntity> {
  const message = await openpgp.createMessage({ binary: bytesOf(payload), date: now });
  const armoredSignature = await openpgp.sign({ message, signingKeys: [signer], detached: true, date: now, format: 'armored' });
  const signature = await openpgp.readSignature({ armoredSignature });
  const hash = signature.packets[0]?.hashAlgorithm;
  if (hash === null || hash === undefined) throw new Error('the signature has no hash algorithm');
  const micalg = `pgp-${openpgp.enums.read(openpgp.enums.hash, hash).toLowerCase()}`;
  const boundary = newBoundary();
  const sigPart = entityBytes({
    headers: ['Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"', 'Content-Description: OpenPGP digital signature', 'Content-Disposition: attachment; filename="OpenPGP_signature.asc"'],
    body: crlfText(armoredSignature),
  });
  return {
    headers: [`Content-Type: multipart/signed; micalg=${micalg};\r\n protocol="application/pgp-signature";\r\n boundary="${boundary}"`],
    body: multipartBody(boundary, [payload, sigPart]),
  };
}

/** The payload as a plain Uint8Array over the same memory: openpgp gets no Buffer, and the payload is not copied. */
function bytesOf(payload: Buffer): Uint8Array {
  return new Uint8Array(payload.buffer, payload.byteOffset, payload.length);
}

// --- checks ---

// openpgp's own floor would turn a 1024-bit key into "no encryption key"; we check sizes ourselves to say why.
const LENIENT = { ...openpgp.config, minRSABits: 512 };

async function parseSingleKey(input: string | Uint8Array, what: string, status: number): Promise<openpgp.Key> {
  const invalid = (message: string) => new DomainError('KEY_INVALID', status, message);
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_KEY_BLOCK_BYTES) {
    throw invalid(`The key block is ${Math.ceil(size / 1024)} kB; Mailpage accepts at most ${MAX_KEY_BLOCK_BYTES / 1024} kB. Export the key without photos and third-party signatures: gpg --armor --export-options export-minimal --export <address>.`);
  }
  const text = typeof input === 'string' ? input : looksArmored(input) ? Buffer.from(input).toString('latin1') : null;
  // openpgp reads the first armored block only: a second one would be dropped without a word.
  const blocks = text?.match(/-----BEGIN PGP [A-Z ]+-----/g)?.length ?? 0;
  if (blocks > 1) throw invalid(`The upload holds ${blocks} armored blocks; upload exactly one key.`);
  let keys: openpgp.Key[];
  try {
    keys = text !== null ? await openpgp.readKeys({ armoredKeys: text, config: LENIENT }) : await openpgp.readKeys({ binaryKeys: input as Uint8Array, config: LENIENT });
  } catch {
    throw invalid(`This is not an OpenPGP ${what}. Export it with gpg --armor and upload the text that starts with "-----BEGIN PGP ${what === 'public key' ? 'PUBLIC KEY' : 'PRIVATE KEY'} BLOCK-----".`);
  }
  if (keys.length !== 1) throw invalid(`The upload holds ${keys.length} keys; upload exactly one.`);
  return keys[0];
}

function looksArmored(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 1024)).toString('latin1').includes('-----BEGIN PGP');
}

type Use = 'encrypt' | 'sign';

async function checkUsable(key: openpgp.Key, use: Use, now: Date, status: number, subject = 'This key'): Promise<void> {
  const fail = (code: 'KEY_INVALID' | 'KEY_EXPIRED', message: string) => new DomainError(code, status, message);
  if (await key.isRevoked(undefined, undefined, now)) throw fail('KEY_INVALID', `${subject} was revoked by its owner; ask for their current key.`);
  const expiry = await key.getExpirationTime();
  if (expiry instanceof Date && expiry.getTime() <= now.getTime()) {
    throw fail('KEY_EXPIRED', `${subject} expired on ${day(expiry)}; ask its owner for a renewed key (or to extend the expiry date) and upload it again.`);
  }
  checkBits(key.getAlgorithmInfo(), subject, status);
  try {
    await key.verifyPrimaryKey(now, undefined, LENIENT);
  } catch {
    throw fail('KEY_INVALID', `${subject} has no valid self-signature or user ID; export it again with gpg --armor --export <address>.`);
  }
  let chosen: openpgp.Key | openpgp.Subkey;
  try {
    chosen = use === 'encrypt' ? await key.getEncryptionKey(undefined, now, undefined, LENIENT) : await key.getSigningKey(undefined, now, undefined, LENIENT);
  } catch {
    const retired = key.getKeys().map((k) => k.getAlgorithmInfo().algorithm).find((a) => RETIRED_ALGORITHMS.has(a));
    if (retired) throw fail('KEY_INVALID', `${subject} is an old ${retired === 'dsa' ? 'DSA' : 'ElGamal'} key, which current OpenPGP software no longer uses; ask its owner for an RSA or Curve25519 key.`);
    const expired = await expiredSubkey(key, use, now);
    if (expired) throw fail('KEY_EXPIRED', `${subject} has ${use === 'encrypt' ? 'an encryption' : 'a signing'} subkey that expired on ${day(expired)}; ask its owner for a renewed key.`);
    throw fail('KEY_INVALID', use === 'encrypt'
      ? `${subject} cannot encrypt: it has no valid encryption subkey (it may be a signing-only key, or its subkey was revoked). Ask for a key that can encrypt.`
      : `${subject} cannot sign: it has no valid signing (sub)key.`);
  }
  const info = chosen.getAlgorithmInfo();
  checkBits(info, subject, status);
  const allowed = use === 'encrypt' ? ENCRYPTION_ALGORITHMS : SIGNING_ALGORITHMS;
  if (!allowed.has(info.algorithm)) throw fail('KEY_INVALID', `${subject} uses ${info.algorithm}, which Mailpage does not ${use} with; use an RSA or Curve25519/ECC key.`);
}

function checkBits(info: openpgp.AlgorithmInfo, subject: string, status: number): void {
  if (!info.algorithm.startsWith('rsa')) return;
  const bits = info.bits ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new DomainError('KEY_INVALID', status, `${subject} is an RSA key of ${bits} bits; Mailpage accepts RSA keys of ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, or Curve25519/ECC keys.`);
  }
}

/** The latest expiry among subkeys that could have done the job, when one exists and is past. */
async function expiredSubkey(key: openpgp.Key, use: Use, now: Date): Promise<Date | null> {
  const flag = use === 'encrypt' ? openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage : openpgp.enums.keyFlags.signData;
  let latest: Date | null = null;
  for (const subkey of key.subkeys) {
    const binding = subkey.bindingSignatures[subkey.bindingSignatures.length - 1];
    if (!binding?.keyFlags || !(binding.keyFlags[0] & flag)) continue;
    const expiry = await subkey.getExpirationTime(now).catch(() => null);
    if (expiry instanceof Date && expiry.getTime() <= now.getTime() && (!latest || expiry > latest)) latest = expiry;
  }
  return latest;
}

async function describe(key: openpgp.Key, use: Use, now: Date): Promise<PgpKeyInfo> {
  const primary = key.getAlgorithmInfo();
  const canEncrypt = await key.getEncryptionKey(undefined, now, undefined, LENIENT).then(() => true, () => false);
  const canSign = await key.getSigningKey(undefined, now, undefined, LENIENT).then(() => true, () => false);
  const chosen = use === 'encrypt' ? await key.getEncryptionKey(undefined, now, undefined, LENIENT) : await key.getSigningKey(undefined, now, undefined, LENIENT);
  const ends = [await key.getExpirationTime(), chosen === key ? null : await (chosen as openpgp.Subkey).getExpirationTime(now)]
    .filter((d): d is Date => d instanceof Date);
  const emails: string[] = [];
  for (const user of key.users) {
    if (!user.userID?.email) continue;
    if (await user.verify(now, LENIENT).then(() => true, () => false)) emails.push(user.userID.email.toLowerCase());
  }
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    userIds: key.getUserIDs(),
    emails,
    algorithm: primary.algorithm,
    bits: primary.algorithm.startsWith('rsa') ? (primary.bits ?? null) : null,
    curve: primary.curve ?? null,
    created: key.getCreationTime(),
    expires: ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null,
    canEncrypt,
    canSign,
    armored: key.toPublic().armor(),
  };
}

function checkEmail(info: PgpKeyInfo, expected: string): void {
  if (info.emails.includes(expected.toLowerCase())) return;
  const ids = info.userIds.length ? info.userIds.join(', ') : 'none';
  throw invalid(`This key is not for ${expected}: its user IDs are ${ids}. Upload the key whose user ID has that address.`);
}

function invalid(message: string): DomainError {
  return new DomainError('KEY_INVALID', 400, message);
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}
