import { z } from 'zod';

export type KeyKind = 'pgp' | 'smime';

/** A user's (or an external address's) public key as shown back: never the private part. */
export interface PublicKeyView {
  kind: KeyKind;
  fingerprint: string;
  /** The addresses the key or certificate names. */
  emails: string[];
  algorithm: string;
  bits: number | null;
  createdAt: string | null;
  expiresAt: string | null;
  uploadedAt: string;
}

/** GET /api/me/keys → { pgp, smime }; PUT /api/me/keys with one of them; DELETE /api/me/keys?kind=pgp|smime. */
export interface MyKeysView {
  email: string | null;
  pgp: PublicKeyView | null;
  smime: PublicKeyView | null;
}

export const putKeySchema = z.strictObject({
  kind: z.enum(['pgp', 'smime'], { message: 'kind must be "pgp" or "smime"' }),
  /** Armored PGP public key, or a PEM certificate (or base64 DER). */
  key: z.string().min(1, 'key is empty').max(65_536, 'key is longer than 64 kB'),
});
export type PutKeyRequest = z.input<typeof putKeySchema>;

export const ENCRYPTION_POLICIES = ['off', 'opportunistic', 'required'] as const;
export type EncryptionPolicy = (typeof ENCRYPTION_POLICIES)[number];

/** GET /api/settings/encryption (site admin). Private keys and passphrases are write-only. */
export interface EncryptionSettingsView {
  policy: EncryptionPolicy;
  preferred: 'pgp' | 'smime';
  sign: boolean;
  protectedSubject: string;
  pgpSigningKey: { fingerprint: string; emails: string[]; expiresAt: string | null; passphraseSet: boolean } | null;
  smimeSigningCert: { fingerprint: string; emails: string[]; expiresAt: string | null; passwordSet: boolean } | null;
}

export const encryptionSettingsSchema = z.strictObject({
  policy: z.enum(ENCRYPTION_POLICIES, { message: 'policy must be off, opportunistic or required' }),
  preferred: z.enum(['pgp', 'smime']).default('pgp'),
  sign: z.boolean().default(false),
  protectedSubject: z.string().max(100).default('[...]'),
  /** Armored PGP private key and its passphrase; omit to keep the saved one, null to remove it. */
  pgpSigningKey: z.strictObject({ armored: z.string().max(65_536), passphrase: z.string().max(1024) }).nullable().optional(),
  /** PKCS#12 keystore as base64 and its password; omit to keep, null to remove. */
  smimeSigningKeystore: z.strictObject({ p12Base64: z.string().max(200_000), password: z.string().max(1024) }).nullable().optional(),
});
export type EncryptionSettingsRequest = z.input<typeof encryptionSettingsSchema>;

/** Per recipient: can the mail to them be encrypted, and how. Part of POST /api/mail/preview's answer. */
export interface RecipientKeyStatus {
  address: string;
  pgp: boolean;
  smime: boolean;
}
