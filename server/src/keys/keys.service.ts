import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { parseAddress, type KeyKind, type MyKeysView, type PublicKeyView, type RecipientKeyStatus } from '@mailpage/contract';
import { DataSource, In } from 'typeorm';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { ConfluenceClient } from '../confluence/confluence.client';
import { MailCryptoService } from '../crypto/mail-crypto.service';
import { PublicKeyEntity } from '../database/entities';

interface KeyMeta {
  emails: string[];
  algorithm: string;
  bits: number | null;
  createdAt: string | null;
  expiresAt: string | null;
}

/** The stored keys of a send's recipients, read in one query: who has a usable key, and the keys of one kind. */
export interface RecipientKeys {
  status: RecipientKeyStatus[];
  keysOf(kind: KeyKind): Map<string, string>;
}

export function toKeyView(e: PublicKeyEntity): PublicKeyView {
  const m = JSON.parse(e.meta) as KeyMeta;
  return { kind: e.kind, fingerprint: e.fingerprint, emails: m.emails, algorithm: m.algorithm, bits: m.bits, createdAt: m.createdAt, expiresAt: m.expiresAt, uploadedAt: e.uploadedAt.toISOString() };
}

/**
 * Public keys by address. A user uploads their own (checked against their Confluence email); a site admin can add keys
 * for external addresses. Keys are checked on upload (parse, expiry, revocation, encryption capability, size, email)
 * and again at send time by MailCryptoService.
 */
@Injectable()
export class KeysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly crypto: MailCryptoService,
    private readonly confluence: ConfluenceClient,
    private readonly clock: Clock,
  ) {}

  private get repo() {
    return this.db.getRepository(PublicKeyEntity);
  }

  async mine(auth: AuthContext): Promise<MyKeysView> {
    const email = await this.userEmail(auth);
    if (!email) return { email: null, pgp: null, smime: null };
    const rows = await this.repo.findBy({ tenantId: auth.tenantId, email });
    const of = (kind: KeyKind) => rows.find((r) => r.kind === kind);
    return { email, pgp: maybe(of('pgp')), smime: maybe(of('smime')) };
  }

  async putMine(auth: AuthContext, kind: KeyKind, key: string): Promise<MyKeysView> {
    const email = await this.userEmail(auth);
    if (!email) throw new DomainError('VALIDATION_FAILED', 400, 'Your Confluence account shows no email address to this app, so a key cannot be matched to you. Make your email visible, or ask a site admin to add your key.');
    await this.store(auth.tenantId, auth.accountId, email, kind, key);
    return this.mine(auth);
  }

  async deleteMine(auth: AuthContext, kind: KeyKind): Promise<MyKeysView> {
    const email = await this.userEmail(auth);
    if (email) await this.repo.delete({ tenantId: auth.tenantId, email, kind });
    return this.mine(auth);
  }

  async listAll(tenantId: string): Promise<(PublicKeyView & { email: string; addedBy: 'user' | 'admin' })[]> {
    const rows = await this.repo.find({ where: { tenantId }, order: { email: 'ASC' } });
    return rows.map((r) => ({ ...toKeyView(r), email: r.email, addedBy: r.accountId ? 'user' : 'admin' }));
  }

  /** A site admin adds a key for an address (typically an external recipient). */
  async putForAddress(tenantId: string, address: string, kind: KeyKind, key: string): Promise<PublicKeyView> {
    const parsed = parseAddress(address.trim());
    if (!parsed.ok) throw new DomainError('VALIDATION_FAILED', 400, `email "${address.slice(0, 80)}" ${parsed.reason}.`);
    return toKeyView(await this.store(tenantId, null, parsed.mailbox.address.toLowerCase(), kind, key));
  }

  async deleteForAddress(tenantId: string, address: string, kind: KeyKind): Promise<void> {
    await this.repo.delete({ tenantId, email: address.trim().toLowerCase(), kind });
  }

  /** Which recipients have a usable (unexpired) key of each kind. */
  async status(tenantId: string, addresses: string[]): Promise<RecipientKeyStatus[]> {
    return this.statusOf(await this.rowsFor(tenantId, addresses), addresses);
  }

  /** The recipients' `status` and their stored keys of each kind (by lower-cased address), from one query. */
  async lookup(tenantId: string, addresses: string[]): Promise<RecipientKeys> {
    const rows = await this.rowsFor(tenantId, addresses);
    return { status: this.statusOf(rows, addresses), keysOf: (kind) => keyMap(rows, kind) };
  }

  private async rowsFor(tenantId: string, addresses: string[]): Promise<PublicKeyEntity[]> {
    const lower = [...new Set(addresses.map((a) => a.toLowerCase()))];
    return lower.length ? this.repo.findBy({ tenantId, email: In(lower) }) : [];
  }

  private statusOf(rows: PublicKeyEntity[], addresses: string[]): RecipientKeyStatus[] {
    const now = this.clock.now().getTime();
    const usable = (r: PublicKeyEntity) => {
      const exp = (JSON.parse(r.meta) as KeyMeta).expiresAt;
      return !exp || Date.parse(exp) > now;
    };
    return addresses.map((address) => {
      const mine = rows.filter((r) => r.email === address.toLowerCase() && usable(r));
      return { address, pgp: mine.some((r) => r.kind === 'pgp'), smime: mine.some((r) => r.kind === 'smime') };
    });
  }

  private async store(tenantId: string, accountId: string | null, email: string, kind: KeyKind, key: string): Promise<PublicKeyEntity> {
    let meta: KeyMeta;
    let fingerprint: string;
    let keyText: string;
    if (kind === 'pgp') {
      const info = await this.crypto.checkPgpPublicKey(key, email);
      meta = { emails: info.emails, algorithm: info.curve ? `${info.algorithm} (${info.curve})` : info.algorithm, bits: info.bits, createdAt: info.created.toISOString(), expiresAt: info.expires?.toISOString() ?? null };
      fingerprint = info.fingerprint;
      keyText = info.armored;
    } else {
      const input = /-----BEGIN/.test(key) ? key : Buffer.from(key.replace(/\s+/g, ''), 'base64');
      const info = await this.crypto.checkSmimeCertificate(input, email);
      meta = { emails: info.emails, algorithm: info.keyType.toUpperCase(), bits: info.bits, createdAt: info.notBefore.toISOString(), expiresAt: info.notAfter.toISOString() };
      fingerprint = info.fingerprint;
      keyText = info.pem;
    }
    const existing = await this.repo.findOneBy({ tenantId, email, kind });
    const row = Object.assign(new PublicKeyEntity(), { id: existing?.id ?? randomUUID(), tenantId, accountId, email, kind, fingerprint, keyText, meta: JSON.stringify(meta), uploadedAt: this.clock.now() });
    await this.repo.save(row);
    return row;
  }

  private async userEmail(auth: AuthContext): Promise<string | null> {
    if (auth.local) return null;
    const email = await this.confluence.resolveEmail(auth, auth.accountId);
    return email ? email.toLowerCase() : null;
  }
}

function keyMap(rows: PublicKeyEntity[], kind: KeyKind): Map<string, string> {
  return new Map(rows.filter((r) => r.kind === kind).map((r) => [r.email, r.keyText]));
}

function maybe(e: PublicKeyEntity | undefined): PublicKeyView | null {
  return e ? toKeyView(e) : null;
}
