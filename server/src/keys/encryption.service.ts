import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EncryptionChoice, EncryptionPolicy, EncryptionSettingsView, RecipientKeyStatus } from '@mailpage/contract';
import { encryptionSettingsSchema } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import type { z } from 'zod';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { MailCryptoService, type CryptoMethod, type SignerMaterial } from '../crypto/mail-crypto.service';
import { EncryptionSettingsEntity } from '../database/entities';
import { SecretBox } from '../secrets/secret-box';
import { RowCache } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';
import { KeysService, type RecipientKeys } from './keys.service';

type SigningMeta = { fingerprint: string; emails: string[]; expiresAt: string | null };

/** The SecretBox field each sealed column is bound to (key rotation reads them too). */
export const ENCRYPTION_SECRET_FIELDS = { pgpKey: 'crypto.pgp.key', pgpPassphrase: 'crypto.pgp.passphrase', p12: 'crypto.smime.p12', p12Password: 'crypto.smime.password' } as const;

/** What a send will do: encrypt and/or sign with which method, and with which keys. */
export interface ProtectionPlan {
  method: CryptoMethod | null;
  encrypt: boolean;
  sign: boolean;
  recipientKeys: Map<string, string>;
  signer?: SignerMaterial;
  outerSubject: string;
}

const NONE: Omit<ProtectionPlan, 'outerSubject'> = { method: null, encrypt: false, sign: false, recipientKeys: new Map() };

/**
 * What `plan` reads of the saved row. The signing keys and their passwords stay sealed (opened per send), and are kept
 * only while signing is on: otherwise no send uses them.
 */
type PlanSettings = Readonly<
  Pick<EncryptionSettingsEntity, 'policy' | 'preferred' | 'sign' | 'protectedSubject' | 'pgpKeySealed' | 'pgpPassphraseSealed' | 'smimeP12Sealed' | 'smimePasswordSealed'>
>;

/** No row: what the site has before a site admin saves encryption settings. */
const DEFAULT_PLAN_SETTINGS: PlanSettings = Object.freeze({
  policy: 'off',
  preferred: 'pgp',
  sign: false,
  protectedSubject: '[...]',
  pgpKeySealed: null,
  pgpPassphraseSealed: null,
  smimeP12Sealed: null,
  smimePasswordSealed: null,
});

function planSettings(e: EncryptionSettingsEntity | null): PlanSettings {
  if (!e) return DEFAULT_PLAN_SETTINGS;
  const sealed = (v: string | null) => (e.sign ? v : null);
  return Object.freeze({
    policy: e.policy,
    preferred: e.preferred,
    sign: e.sign,
    protectedSubject: e.protectedSubject,
    pgpKeySealed: sealed(e.pgpKeySealed),
    pgpPassphraseSealed: sealed(e.pgpPassphraseSealed),
    smimeP12Sealed: sealed(e.smimeP12Sealed),
    smimePasswordSealed: sealed(e.smimePasswordSealed),
  });
}

/**
 * The site's encryption policy and signing keys, and the decision for one send:
 * off: never encrypt; opportunistic: encrypt when every recipient has a key, else plain; required: refuse a send
 * to anyone without a key, naming them. Within the policy the sender may choose pgp, smime or none.
 */
@Injectable()
export class EncryptionService {
  /**
   * The settings `plan` reads for every send and preview, kept for a few seconds, secrets still sealed. A missing row
   * is kept too, as "off". The admin screen and saves read the database itself.
   */
  private readonly cached: RowCache<PlanSettings>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly box: SecretBox,
    private readonly crypto: MailCryptoService,
    private readonly keys: KeysService,
    private readonly clock: Clock,
    @Optional() caches?: TenantCaches,
  ) {
    this.cached = new RowCache(clock, caches);
  }

  private get repo() {
    return this.db.getRepository(EncryptionSettingsEntity);
  }

  async view(tenantId: string): Promise<EncryptionSettingsView> {
    const e = await this.repo.findOneBy({ tenantId });
    if (!e) return { policy: 'off', preferred: 'pgp', sign: false, protectedSubject: '[...]', pgpSigningKey: null, smimeSigningCert: null };
    const meta = (text: string | null) => (text ? (JSON.parse(text) as SigningMeta) : null);
    const pgp = meta(e.pgpMeta);
    const smime = meta(e.smimeMeta);
    return {
      policy: e.policy,
      preferred: e.preferred,
      sign: e.sign,
      protectedSubject: e.protectedSubject,
      pgpSigningKey: pgp ? { ...pgp, passphraseSet: !!e.pgpPassphraseSealed } : null,
      smimeSigningCert: smime ? { ...smime, passwordSet: !!e.smimePasswordSealed } : null,
    };
  }

  async save(tenantId: string, input: z.output<typeof encryptionSettingsSchema>): Promise<EncryptionSettingsView> {
    const existing = await this.repo.findOneBy({ tenantId });
    const e = Object.assign(new EncryptionSettingsEntity(), existing ?? { pgpKeySealed: null, pgpPassphraseSealed: null, pgpMeta: null, smimeP12Sealed: null, smimePasswordSealed: null, smimeMeta: null });
    Object.assign(e, { tenantId, policy: input.policy, preferred: input.preferred, sign: input.sign, protectedSubject: input.protectedSubject || '[...]', updatedAt: this.clock.now() });
    if (input.pgpSigningKey === null) Object.assign(e, { pgpKeySealed: null, pgpPassphraseSealed: null, pgpMeta: null });
    else if (input.pgpSigningKey) {
      const info = await this.crypto.checkPgpSigner(input.pgpSigningKey.armored, input.pgpSigningKey.passphrase);
      e.pgpKeySealed = this.box.seal(input.pgpSigningKey.armored, tenantId, ENCRYPTION_SECRET_FIELDS.pgpKey);
      e.pgpPassphraseSealed = this.box.seal(input.pgpSigningKey.passphrase, tenantId, ENCRYPTION_SECRET_FIELDS.pgpPassphrase);
      e.pgpMeta = JSON.stringify({ fingerprint: info.fingerprint, emails: info.emails, expiresAt: info.expires?.toISOString() ?? null } satisfies SigningMeta);
    }
    if (input.smimeSigningKeystore === null) Object.assign(e, { smimeP12Sealed: null, smimePasswordSealed: null, smimeMeta: null });
    else if (input.smimeSigningKeystore) {
      const p12 = Buffer.from(input.smimeSigningKeystore.p12Base64, 'base64');
      const info = await this.crypto.checkSmimeSigner(p12, input.smimeSigningKeystore.password);
      e.smimeP12Sealed = this.box.seal(input.smimeSigningKeystore.p12Base64, tenantId, ENCRYPTION_SECRET_FIELDS.p12);
      e.smimePasswordSealed = this.box.seal(input.smimeSigningKeystore.password, tenantId, ENCRYPTION_SECRET_FIELDS.p12Password);
      e.smimeMeta = JSON.stringify({ fingerprint: info.fingerprint, emails: info.emails, expiresAt: info.notAfter.toISOString() } satisfies SigningMeta);
    }
    if (e.sign && !e.pgpKeySealed && !e.smimeP12Sealed) {
      throw new DomainError('SIGNING_KEY_MISSING', 400, 'Signing is on but no signing key is saved: upload a PGP private key or a PKCS#12 keystore first.');
    }
    await this.repo.save(e);
    this.cached.drop(tenantId);
    return this.view(tenantId);
  }

  /** Decides how one mail is protected. Throws (nothing sent) when the policy or the sender's choice cannot be met. */
  async plan(tenantId: string, choice: EncryptionChoice, recipients: string[]): Promise<ProtectionPlan> {
    const e = await this.cached.get(tenantId, null, async () => planSettings(await this.repo.findOneBy({ tenantId })));
    const policy: EncryptionPolicy = e.policy;
    const outerSubject = e.protectedSubject;
    if (policy === 'off' && (choice === 'pgp' || choice === 'smime')) {
      throw new DomainError('VALIDATION_FAILED', 400, 'Encryption is turned off for this site; a site admin can turn it on in the encryption settings.');
    }
    if (policy === 'required' && choice === 'none') {
      throw new DomainError('RECIPIENT_KEY_MISSING', 422, 'This site requires encrypted mail; choose PGP or S/MIME (or automatic).');
    }

    let method: CryptoMethod | null = null;
    let keys: RecipientKeys | null = null;
    if (policy !== 'off' && choice !== 'none') {
      keys = await this.keys.lookup(tenantId, recipients);
      const status = keys.status;
      const lacking = (kind: CryptoMethod) => status.filter((s: RecipientKeyStatus) => !s[kind]).map((s) => s.address);
      const preferred = e.preferred;
      const order: CryptoMethod[] = choice === 'auto' ? [preferred, preferred === 'pgp' ? 'smime' : 'pgp'] : [choice];
      method = order.find((m) => lacking(m).length === 0) ?? null;
      if (!method && (choice !== 'auto' || policy === 'required')) {
        const kind = order[0];
        const missing = lacking(kind);
        throw new DomainError(
          'RECIPIENT_KEY_MISSING',
          422,
          `${missing.length === 1 ? 'This recipient has' : 'These recipients have'} no ${kind === 'pgp' ? 'PGP key' : 'S/MIME certificate'}, so the mail cannot be encrypted: ${missing.join(', ')}. Nothing was sent.`,
          { missing, method: kind },
        );
      }
    }

    const signWith: CryptoMethod | null = !e.sign ? null : method ?? (e.preferred === 'smime' && e.smimeP12Sealed ? 'smime' : e.pgpKeySealed ? 'pgp' : e.smimeP12Sealed ? 'smime' : null);
    const signer = signWith ? this.signer(tenantId, e, signWith) : undefined;
    if (!method && !signer) return { ...NONE, outerSubject };
    return {
      method: method ?? signWith,
      encrypt: !!method,
      sign: !!signer,
      recipientKeys: method && keys ? keys.keysOf(method) : new Map(),
      signer,
      outerSubject,
    };
  }

  /** Opened for this send only: the opened keys and passwords are never kept. */
  private signer(tenantId: string, e: PlanSettings, method: CryptoMethod): SignerMaterial | undefined {
    if (method === 'pgp' && e.pgpKeySealed && e.pgpPassphraseSealed) {
      return { method, armoredKey: this.box.open(e.pgpKeySealed, tenantId, ENCRYPTION_SECRET_FIELDS.pgpKey), passphrase: this.box.open(e.pgpPassphraseSealed, tenantId, ENCRYPTION_SECRET_FIELDS.pgpPassphrase) };
    }
    if (method === 'smime' && e.smimeP12Sealed && e.smimePasswordSealed) {
      return { method, p12: Buffer.from(this.box.open(e.smimeP12Sealed, tenantId, ENCRYPTION_SECRET_FIELDS.p12), 'base64'), password: this.box.open(e.smimePasswordSealed, tenantId, ENCRYPTION_SECRET_FIELDS.p12Password) };
    }
    return undefined;
  }
}
