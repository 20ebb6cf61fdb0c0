import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, type SecretKey } from '../config/app-config';

const VERSION = 'mp1';

/**
 * Seals secrets at rest (SMTP passwords, OAuth2 secrets, private-key passphrases) with AES-256-GCM:
 * a random 12-byte nonce per value, the key id in the sealed text for rotation, and associated data that binds
 * the value to its tenant and field, so a sealed value copied to another row or tenant does not open.
 * Format: `mp1.<keyId>.<nonce>.<ciphertext+tag>` (base64url parts).
 */
@Injectable()
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly primary: SecretKey;
  private readonly macKey: Buffer;

  constructor(config: AppConfig) {
    if (!config.secretKeys.length) throw new Error('No secret key configured');
    this.primary = config.secretKeys[0];
    this.keys = new Map(config.secretKeys.map((k) => [k.id, k.key]));
    this.macKey = Buffer.from(hkdfSync('sha256', this.primary.key, Buffer.alloc(0), 'mailpage request mac', 32));
  }

  seal(plaintext: string, tenantId: string, field: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.primary.key, nonce);
    cipher.setAAD(aad(tenantId, field));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return [VERSION, this.primary.id, nonce.toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, tenantId: string, field: string): string {
    const [version, keyId, nonceText, ctText] = sealed.split('.');
    const key = this.keys.get(keyId);
    if (version !== VERSION || !key || !nonceText || !ctText) {
      throw new Error(`A stored secret uses key "${keyId}", which is not configured (MAILPAGE_SECRET_KEY / MAILPAGE_OLD_SECRET_KEYS)`);
    }
    const data = Buffer.from(ctText, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonceText, 'base64url'));
    decipher.setAAD(aad(tenantId, field));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
  }

  /** The key id a sealed value was written with (for rotation). */
  keyIdOf(sealed: string): string {
    return sealed.split('.')[1] ?? '';
  }

  get primaryKeyId(): string {
    return this.primary.id;
  }

  /** Keyed hash for fingerprints that must not be reversible by someone who reads the database. */
  mac(...parts: (string | Buffer)[]): string {
    const h = createHmac('sha256', this.macKey);
    for (const p of parts) {
      const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      h.update(`${b.length}:`).update(b);
    }
    return h.digest('hex');
  }
}

function aad(tenantId: string, field: string): Buffer {
  return Buffer.from(`mailpage:${VERSION}:${tenantId}:${field}`, 'utf8');
}
