import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type * as openpgp from 'openpgp';
import * as pgp from './pgp';
import * as smime from './smime';

/** A recipient's stored key, parsed: what MailCryptoService encrypts to. `id` tells two keys apart. */
export type RecipientKey = { kind: 'pgp'; key: openpgp.PublicKey; id: string } | { kind: 'smime'; cert: smime.SmimeCertificate; id: string };

export interface RecipientKeyCacheOptions {
  /** Most keys kept (default 1,000). */
  max?: number;
  /** Most stored text kept, in characters (default 16 MB). */
  maxChars?: number;
  /** How long a parsed key is kept after it was parsed (default 5 minutes). */
  ttlMs?: number;
}

/**
 * Recipients' stored keys (the `armored` / `pem` kept after the upload check), parsed once and kept for a few minutes,
 * by a hash of the stored text: a changed key is another entry, and the old one ages out. Without it every send
 * parses every key again and verifies its self-signatures (openpgp.readKey and the checks: ~2.7 ms per Curve25519
 * key, docs/BENCHMARKS.md item 5).
 *
 * Every use still runs the send-time check (pgp.checkRecipientKey / smime.checkRecipientCertificate) with the current
 * time and the address the key is used for: a key that expired, was revoked or lost its encryption subkey while kept
 * here is refused as before, with an error naming that address. It costs little on a kept key: openpgp remembers on
 * the key object which signatures it has verified, so only the date and policy checks run again (~0.15 ms).
 * Only public material is kept here; a stored text that cannot be parsed is not kept.
 */
export class RecipientKeyCache {
  private readonly keys: LRUCache<string, Promise<RecipientKey>>;

  constructor(options: RecipientKeyCacheOptions = {}) {
    this.keys = new LRUCache<string, Promise<RecipientKey>>({
      max: options.max ?? 1_000,
      maxSize: options.maxChars ?? 16 * 1024 * 1024,
      ttl: options.ttlMs ?? 5 * 60_000,
    });
  }

  /**
   * The stored key, checked for use by `address` at `now`. Throws DomainError KEY_EXPIRED / KEY_INVALID (422) for a
   * key no longer usable, as the send-time checks do.
   */
  async get(method: 'pgp' | 'smime', stored: string, address: string, now: Date): Promise<RecipientKey> {
    const key = await this.parsed(method, stored);
    if (key.kind === 'pgp') await pgp.checkRecipientKey(key.key, address, now);
    else smime.checkRecipientCertificate(key.cert, address, now);
    return key;
  }

  /** Number of keys kept. */
  get size(): number {
    return this.keys.size;
  }

  private parsed(method: 'pgp' | 'smime', stored: string): Promise<RecipientKey> {
    const id = createHash('sha256').update(method).update('\u0000').update(stored).digest('hex');
    let key = this.keys.get(id);
    if (!key) {
      key = parse(method, stored);
      // Kept while parsing too, so concurrent sends parse once; a failure is not remembered.
      const parsing = key;
      parsing.catch(() => {
        if (this.keys.peek(id) === parsing) this.keys.delete(id);
      });
      this.keys.set(id, key, { size: Math.max(1, stored.length) });
    }
    return key;
  }
}

async function parse(method: 'pgp' | 'smime', stored: string): Promise<RecipientKey> {
  if (method === 'pgp') {
    const key = await pgp.readStoredPublicKey(stored);
    return { kind: 'pgp', key, id: key.getFingerprint() };
  }
  const cert = smime.readStoredCertificate(stored);
  return { kind: 'smime', cert, id: cert.info.fingerprint };
}
