import { createHash } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import {
  assembleMessage,
  cryptographicPayload,
  DEFAULT_OUTER_SUBJECT,
  entityBytes,
  outerFields,
  splitMessage,
  type MimeEntity,
} from './mime-entity';
import * as pgp from './pgp';
import { RecipientKeyCache, type RecipientKey } from './recipient-keys';
import * as smime from './smime';

export type CryptoMethod = 'pgp' | 'smime';

/** The sender's signing key as stored: secrets included, so the caller keeps it sealed at rest. */
export type SignerMaterial =
  | { method: 'pgp'; /** ASCII-armored secret key, as uploaded. */ armoredKey: string; passphrase: string }
  | { method: 'smime'; /** The PKCS#12 keystore, as uploaded. */ p12: Buffer; password: string };

export interface ProtectOptions {
  method: CryptoMethod;
  encrypt: boolean;
  sign: boolean;
  /** SMTP MAIL FROM of every copy. */
  envelopeFrom: string;
  /** Envelope addresses, as they will be given to SMTP. A bcc address also in to or cc is left out of bcc. */
  to: string[];
  cc: string[];
  bcc: string[];
  /**
   * When encrypting: the stored key of every recipient, by address (looked up case-insensitively). For "pgp" the
   * `armored` of readPublicKeyForUpload, for "smime" the `pem` of readCertificateForUpload.
   */
  recipientKeys?: ReadonlyMap<string, string>;
  /** The sender's own stored key (same form), added to every encrypted copy so the sent mail stays readable. */
  senderKey?: string;
  /** Needed when signing; its method must match `method`. */
  signer?: SignerMaterial;
  /** Subject on the outside of an encrypted message (RFC 9788); default "[...]". */
  outerSubject?: string;
  /** S/MIME only: key transport (OAEP by default) and content cipher (AES-256-CBC by default). */
  smime?: smime.SmimeEncryptOptions;
}

export interface ProtectedMail {
  /** "main": the copy for to + cc (for signed-only mail: for everybody); "bcc": one bcc recipient's own copy. */
  copy: 'main' | 'bcc';
  /** Give both to nodemailer as `{ envelope, raw }`: nodemailer reads no addresses from `raw`. */
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

type Signer = { kind: 'pgp'; signer: pgp.PgpSigner } | { kind: 'smime'; signer: smime.SmimeSigner };

/** Signs and encrypts off the event loop (RenderPool, on worker threads); without one MailCryptoService does it. */
export abstract class ProtectOffload {
  abstract readonly enabled: boolean;
  /** MailCryptoService.protectHere on another thread, as of `now`. */
  abstract protect(raw: Buffer, options: ProtectOptions, now: Date): Promise<ProtectedMail[]>;
}

/**
 * PGP/MIME and S/MIME for outgoing mail: signs and/or encrypts a composed message, with header protection
 * (RFC 9788), and checks keys on upload. Nothing here logs; errors are DomainErrors whose messages name addresses
 * and dates but never key material, passphrases or mail content.
 */
@Injectable()
export class MailCryptoService {
  /**
   * Unlocked PGP signing keys, by a hash of (key, passphrase), for a few minutes: unlocking derives the passphrase
   * hash (S2K) on every use otherwise, the largest cost of a signed send (docs/BENCHMARKS.md). openpgp still refuses
   * to sign with a key that has expired meanwhile.
   */
  private readonly pgpSigners = new LRUCache<string, Promise<pgp.PgpSigner>>({ max: 200, ttl: 5 * 60_000 });

  /** Recipients' stored keys, parsed, for a few minutes; checked again at every use (see RecipientKeyCache). */
  private readonly recipientKeyCache = new RecipientKeyCache();

  constructor(
    private readonly clock: Clock,
    @Optional() private readonly offload?: ProtectOffload,
  ) {}

  /**
   * Turns one composed message (ComposeService's `raw`) into the messages to send, each with its own envelope:
   * - encrypted: one copy for to + cc (if any), then one copy per bcc recipient, each encrypted only to the
   *   recipients it goes to (plus `senderKey`), so no copy names a bcc recipient or their key;
   * - signed only: one message for everybody.
   * Throws DomainError RECIPIENT_KEY_MISSING (422, details.missing = addresses), KEY_EXPIRED / KEY_INVALID (422) for
   * a stored key no longer usable, SIGNING_KEY_MISSING (422), KEY_PASSWORD_WRONG (422) for a stored signer.
   * On a worker thread when there is a pool: the work is CPU only, and the keys' caches live there as well.
   */
  protect(raw: Buffer, options: ProtectOptions): Promise<ProtectedMail[]> {
    return this.offload?.enabled ? this.offload.protect(raw, options, this.clock.now()) : this.protectHere(raw, options);
  }

  /** protect() on this thread. */
  async protectHere(raw: Buffer, options: ProtectOptions): Promise<ProtectedMail[]> {
    if (!options.encrypt && !options.sign) throw new Error('protect() needs encrypt or sign');
    const now = this.clock.now();
    const to = unique([...options.to, ...options.cc]);
    const seen = new Set(to.map((a) => a.toLowerCase()));
    const bcc = unique(options.bcc).filter((a) => !seen.has(a.toLowerCase()));
    if (!to.length && !bcc.length) throw new Error('protect() needs at least one recipient');

    const signer = options.sign ? await this.loadSigner(options, now) : undefined;
    const message = splitMessage(raw);

    if (!options.encrypt) {
      const payload = cryptographicPayload(message, { hp: 'clear' });
      const entity = await this.sign(payload, signer!, now);
      return [{ copy: 'main', envelope: { from: options.envelopeFrom, to: [...to, ...bcc] }, raw: assembleMessage(outerFields(message), entity) }];
    }

    const keys = await this.recipientKeys(options, [...to, ...bcc], now);
    const self = options.senderKey ? await this.storedKey(options.method, options.senderKey, 'the sender', now) : undefined;
    const outer = outerFields(message, options.outerSubject ?? DEFAULT_OUTER_SUBJECT);
    const payload = cryptographicPayload(message, { hp: 'cipher', outer });
    // S/MIME signs first and encrypts the signed entity (RFC 8551 section 3.7); OpenPGP signs inside the encryption.
    const inner = signer?.kind === 'smime' ? entityBytes(smime.smimeSign(payload, signer.signer, now)) : payload;

    const copies: { copy: 'main' | 'bcc'; to: string[] }[] = [...(to.length ? [{ copy: 'main' as const, to }] : []), ...bcc.map((a) => ({ copy: 'bcc' as const, to: [a] }))];
    const out: ProtectedMail[] = [];
    for (const copy of copies) {
      const readers = distinct([...copy.to.map((a) => keys.get(a.toLowerCase())!), ...(self ? [self] : [])]);
      const entity = await this.encrypt(inner, readers, signer, options, now);
      out.push({ copy: copy.copy, envelope: { from: options.envelopeFrom, to: copy.to }, raw: assembleMessage(outer, entity) });
    }
    return out;
  }

  // --- upload checks: the HTTP layer calls these and stores `armored` / `pem` (and the signer material, sealed) ---

  /** A recipient's OpenPGP public key: see pgp.readPublicKeyForUpload. */
  checkPgpPublicKey(input: string | Uint8Array, expectedEmail?: string): Promise<pgp.PgpKeyInfo> {
    return pgp.readPublicKeyForUpload(input, expectedEmail, this.clock.now());
  }

  /** A recipient's S/MIME certificate: see smime.readCertificateForUpload. */
  async checkSmimeCertificate(input: Buffer | string, expectedEmail?: string): Promise<smime.SmimeCertInfo> {
    return smime.readCertificateForUpload(input, expectedEmail, this.clock.now());
  }

  /** The sender's OpenPGP secret key and passphrase; returns only public facts (info.armored is the public key). */
  async checkPgpSigner(armoredKey: string, passphrase: string, expectedEmail?: string): Promise<pgp.PgpKeyInfo> {
    return (await pgp.readPrivateKey(armoredKey, passphrase, { expectedEmail, now: this.clock.now() })).info;
  }

  /** The sender's PKCS#12 keystore and password; returns only public facts about its certificate. */
  async checkSmimeSigner(p12: Buffer, password: string, expectedEmail?: string): Promise<smime.SmimeCertInfo> {
    return smime.readPkcs12(p12, password, { expectedEmail, now: this.clock.now() }).certificate.info;
  }

  // --- internals ---

  private async loadSigner(options: ProtectOptions, now: Date): Promise<Signer> {
    const material = options.signer;
    if (!material) {
      throw new DomainError('SIGNING_KEY_MISSING', 422, 'Signing is switched on, but no signing key is set up for the sender. Upload one in the mail settings, or send without signing.');
    }
    if (material.method !== options.method) throw new Error(`a ${material.method} signer cannot sign ${options.method} mail`);
    return material.method === 'pgp'
      ? { kind: 'pgp', signer: await this.pgpSigner(material.armoredKey, material.passphrase, now) }
      : { kind: 'smime', signer: smime.loadSigner(material.p12, material.password, now) };
  }

  private pgpSigner(armored: string, passphrase: string, now: Date): Promise<pgp.PgpSigner> {
    const id = createHash('sha256').update(armored).update('\u0000').update(passphrase).digest('hex');
    let signer = this.pgpSigners.get(id);
    if (!signer) {
      signer = pgp.loadSigner(armored, passphrase, now);
      // A failure (wrong passphrase, expired key) is not remembered: the next send tries again and says why.
      signer.catch(() => this.pgpSigners.delete(id));
      this.pgpSigners.set(id, signer);
    }
    return signer;
  }

  private async recipientKeys(options: ProtectOptions, addresses: string[], now: Date): Promise<Map<string, RecipientKey>> {
    const stored = new Map<string, string>();
    for (const [address, key] of options.recipientKeys ?? []) stored.set(address.toLowerCase(), key);
    const missing = addresses.filter((a) => !stored.has(a.toLowerCase()));
    if (missing.length) {
      const kind = options.method === 'pgp' ? 'OpenPGP key' : 'S/MIME certificate';
      throw new DomainError('RECIPIENT_KEY_MISSING', 422, `No ${kind} is on file for ${missing.join(', ')}; upload one, remove ${missing.length === 1 ? 'that recipient' : 'those recipients'}, or send without encryption.`, { missing });
    }
    const keys = new Map<string, RecipientKey>();
    for (const address of addresses) keys.set(address.toLowerCase(), await this.storedKey(options.method, stored.get(address.toLowerCase())!, address, now));
    return keys;
  }

  private storedKey(method: CryptoMethod, stored: string, address: string, now: Date): Promise<RecipientKey> {
    return this.recipientKeyCache.get(method, stored, address, now);
  }

  private async sign(payload: Buffer, signer: Signer, now: Date): Promise<MimeEntity> {
    return signer.kind === 'pgp' ? pgp.pgpSign(payload, signer.signer.key, now) : smime.smimeSign(payload, signer.signer, now);
  }

  private async encrypt(inner: Buffer, readers: RecipientKey[], signer: Signer | undefined, options: ProtectOptions, now: Date): Promise<MimeEntity> {
    if (options.method === 'pgp') {
      const keys = readers.flatMap((r) => (r.kind === 'pgp' ? [r.key] : []));
      return pgp.pgpEncrypt(inner, keys, signer?.kind === 'pgp' ? signer.signer.key : undefined, now);
    }
    const certs = readers.flatMap((r) => (r.kind === 'smime' ? [r.cert] : []));
    return smime.smimeEncrypt(inner, certs, options.smime);
  }
}

function unique(addresses: string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => !seen.has(a.toLowerCase()) && seen.add(a.toLowerCase()));
}

function distinct(keys: RecipientKey[]): RecipientKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.id) && seen.add(k.id));
}
