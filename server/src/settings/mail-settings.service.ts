import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { GoogleServiceAccountKey, Mailbox, MailSettingsParsed, MailSettingsView, OAuth2AuthInput, ProvidedRelayView, SmtpAuthView } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { MailSettingsEntity } from '../database/entities';
import type { OAuth2Credential } from '../mail/smtp/oauth2-providers';
import { OAuth2Tokens } from '../mail/smtp/oauth2-tokens';
import { SecretBox } from '../secrets/secret-box';
import type { SmtpTarget } from '../mail/smtp/smtp.types';
import { TenantCaches } from '../tenants/tenant-caches';
import { ProvidedQuota } from './provided-quota.service';
import { RowCache } from './row-cache';

/** Field names bound into each sealed value (SecretBox associated data); the rotation script uses the same names. */
export const PASSWORD_FIELD = 'smtp.password';
export const OAUTH2_CLIENT_SECRET_FIELD = 'smtp.oauth2.clientSecret';
export const OAUTH2_PRIVATE_KEY_FIELD = 'smtp.oauth2.privateKey';
export const OAUTH2_REFRESH_TOKEN_FIELD = 'smtp.oauth2.refreshToken';

/** Pool key of the operator's relay: one pool for every site that uses it. */
export const PROVIDED_RELAY_POOL_KEY = 'provided-relay';

/**
 * A tenant's saved settings with secrets opened, and what the mail on the wire must say: for sending only, never for a
 * response or a log line.
 */
export interface ResolvedMailSettings {
  senderName: string;
  /** The site's own sender address, as the admin saved it. */
  senderAddress: string;
  subjectPrefix: string;
  target: SmtpTarget;
  /** 'provided': the operator's relay, with its From, DKIM signature and daily quota. */
  relay: 'custom' | 'provided';
  /** Header From. Provided relay: the operator's address (PROVIDED_FROM) with the site's sender name. */
  from: Mailbox;
  /** Header Reply-To. Provided relay: the site's sender address, so replies reach the site. Otherwise null. */
  replyTo: Mailbox | null;
  /** SMTP MAIL FROM (where bounces go): the From address. */
  envelopeFrom: string;
  /** Right-hand side of the Message-ID: the From domain. */
  messageIdDomain: string;
  /** Sign the final bytes (after any encryption) with DkimSigner before SMTP. */
  dkimSign: boolean;
}

export function toSettingsView(e: MailSettingsEntity | null, providedRelay: ProvidedRelayView): MailSettingsView {
  if (!e) {
    return {
      configured: false,
      senderName: '',
      senderAddress: '',
      subjectPrefix: '',
      server: { mode: 'custom', host: '', port: 587, security: 'starttls', auth: { type: 'none' }, ...trustedCaView(null) },
      providedRelay,
      updatedAt: null,
    };
  }
  return {
    configured: true,
    senderName: e.senderName,
    senderAddress: e.senderAddress,
    subjectPrefix: e.subjectPrefix,
    server:
      e.serverMode === 'provided'
        ? { mode: 'provided' }
        : {
            mode: 'custom',
            host: e.host ?? '',
            port: e.port ?? 587,
            security: e.security ?? 'starttls',
            auth: authView(e),
            ...trustedCaView(e.tlsCaPem),
          },
    providedRelay,
    updatedAt: e.updatedAt.toISOString(),
  };
}

function authView(e: MailSettingsEntity): SmtpAuthView {
  if (e.authType === 'password') return { type: 'password', username: e.username ?? '', passwordSet: !!e.passwordSealed };
  if (e.authType !== 'oauth2') return { type: 'none' };
  const user = e.username ?? '';
  if (e.oauth2Provider === 'microsoft') {
    return { type: 'oauth2', provider: 'microsoft', tenantId: e.oauth2TenantId ?? '', clientId: e.oauth2ClientId ?? '', user, clientSecretSet: !!e.oauth2ClientSecretSealed };
  }
  if (e.oauth2Credential === 'service-account') {
    return { type: 'oauth2', provider: 'google', credential: 'service-account', user, serviceAccountEmail: e.oauth2ClientId, serviceAccountKeySet: !!e.oauth2PrivateKeySealed };
  }
  return {
    type: 'oauth2',
    provider: 'google',
    credential: 'refresh-token',
    user,
    clientId: e.oauth2ClientId ?? '',
    clientSecretSet: !!e.oauth2ClientSecretSealed,
    refreshTokenSet: !!e.oauth2RefreshTokenSealed,
  };
}

const notConfigured = (message: string) => new DomainError('MAIL_NOT_CONFIGURED', 409, message);

@Injectable()
export class MailSettingsService {
  /**
   * The saved row as read, secrets still sealed (opened per send: AES-GCM, microseconds), for the sends in the next
   * few seconds. Admin screens and saves read the database itself.
   */
  private readonly cached: RowCache<MailSettingsEntity>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly tokens: OAuth2Tokens,
    private readonly quota: ProvidedQuota,
    @Optional() caches?: TenantCaches,
  ) {
    this.cached = new RowCache(clock, caches);
  }

  private get repo() {
    return this.db.getRepository(MailSettingsEntity);
  }

  async view(tenantId: string): Promise<MailSettingsView> {
    return toSettingsView(await this.repo.findOneBy({ tenantId }), await this.providedRelayView(tenantId));
  }

  async save(tenantId: string, input: MailSettingsParsed): Promise<MailSettingsView> {
    if (input.server.mode === 'provided' && !this.config.provided) {
      throw new DomainError('VALIDATION_FAILED', 400, "This service's operator does not offer a provided mail relay; set up your own mail server (server.mode \"custom\").", {
        issues: [{ path: 'server.mode', message: 'server.mode "provided" is not offered by this service' }],
      });
    }
    const existing = await this.repo.findOneBy({ tenantId });
    const row = this.toEntity(tenantId, input, existing);
    await this.repo.save(row);
    this.cached.drop(tenantId);
    return toSettingsView(row, await this.providedRelayView(tenantId));
  }

  /** The settings a send or a connection test uses: the saved ones, or submitted ones with the saved secrets where they still apply. */
  async resolve(tenantId: string, submitted?: MailSettingsParsed): Promise<ResolvedMailSettings> {
    const saved = submitted ? await this.repo.findOneBy({ tenantId }) : await this.savedRow(tenantId);
    const e = submitted ? this.toEntity(tenantId, submitted, saved) : saved;
    if (!e) throw notConfigured('Mail is not set up yet: a site admin must save the mail server settings first.');
    const sender: Mailbox = { name: e.senderName || undefined, address: e.senderAddress };
    const common = { senderName: e.senderName, senderAddress: e.senderAddress, subjectPrefix: e.subjectPrefix };

    if (e.serverMode === 'provided') {
      const relay = this.config.provided;
      if (!relay) throw notConfigured("This service's operator no longer offers the provided mail relay; a site admin must set up the site's own mail server.");
      // Sent from the operator's domain, so SPF, DKIM and DMARC pass for it; replies still reach the site.
      return {
        ...common,
        relay: 'provided',
        target: { key: PROVIDED_RELAY_POOL_KEY, host: relay.host, port: relay.port, security: relay.security, auth: relay.auth, operatorRelay: true },
        from: { name: e.senderName || undefined, address: relay.from },
        replyTo: sender,
        envelopeFrom: relay.from,
        messageIdDomain: domainOf(relay.from),
        dkimSign: this.config.dkim !== null,
      };
    }

    let auth: SmtpTarget['auth'] = null;
    if (e.authType === 'password') {
      if (!e.passwordSealed) throw notConfigured('The mail server settings have a username but no password; a site admin must enter the password.');
      auth = { user: e.username ?? '', pass: this.box.open(e.passwordSealed, tenantId, PASSWORD_FIELD) };
    } else if (e.authType === 'oauth2') {
      auth = { type: 'oauth2', user: e.username ?? '', tokens: this.tokens.source(tenantId, this.oauth2Credential(tenantId, e)) };
    }
    return {
      ...common,
      relay: 'custom',
      target: {
        key: `${tenantId}:${e.revision}:${submitted ? 'submitted' : 'saved'}`,
        host: e.host!,
        port: e.port!,
        security: e.security!,
        auth,
        ...(e.tlsCaPem ? { trustedCa: e.tlsCaPem } : {}),
      },
      from: sender,
      replyTo: null,
      envelopeFrom: e.senderAddress,
      messageIdDomain: domainOf(e.senderAddress),
      dkimSign: false,
    };
  }

  /** Not kept when there is none: the first send after a site saves its settings on another node must not wait for it. */
  private savedRow(tenantId: string): Promise<MailSettingsEntity | null> {
    return this.cached.get(tenantId, null, async () => {
      const row = await this.repo.findOneBy({ tenantId });
      return row && Object.freeze(row);
    });
  }

  private async providedRelayView(tenantId: string): Promise<ProvidedRelayView> {
    const relay = this.config.provided;
    if (!relay) return { available: false, fromAddress: null, dailyQuota: null, usedToday: null };
    return { available: true, fromAddress: relay.from, dailyQuota: relay.dailyQuota, usedToday: await this.quota.usedToday(tenantId) };
  }

  private oauth2Credential(tenantId: string, e: MailSettingsEntity): OAuth2Credential {
    const user = e.username ?? '';
    const missing = (what: string) => notConfigured(`The OAuth2 settings of the mail server have no ${what}; a site admin must enter it.`);
    const open = (sealed: string | null, field: string, what: string) => {
      if (!sealed) throw missing(what);
      return this.box.open(sealed, tenantId, field);
    };
    if (e.oauth2Provider === 'microsoft') {
      return {
        provider: 'microsoft',
        tenantId: e.oauth2TenantId ?? '',
        clientId: e.oauth2ClientId ?? '',
        clientSecret: open(e.oauth2ClientSecretSealed, OAUTH2_CLIENT_SECRET_FIELD, 'client secret'),
        user,
      };
    }
    if (e.oauth2Credential === 'service-account') {
      return {
        provider: 'google',
        credential: 'service-account',
        clientEmail: e.oauth2ClientId ?? '',
        keyId: e.oauth2KeyId,
        privateKey: open(e.oauth2PrivateKeySealed, OAUTH2_PRIVATE_KEY_FIELD, 'service account key'),
        user,
      };
    }
    return {
      provider: 'google',
      credential: 'refresh-token',
      clientId: e.oauth2ClientId ?? '',
      clientSecret: open(e.oauth2ClientSecretSealed, OAUTH2_CLIENT_SECRET_FIELD, 'client secret'),
      refreshToken: open(e.oauth2RefreshTokenSealed, OAUTH2_REFRESH_TOKEN_FIELD, 'refresh token'),
      user,
    };
  }

  private toEntity(tenantId: string, input: MailSettingsParsed, existing: MailSettingsEntity | null): MailSettingsEntity {
    const e = new MailSettingsEntity();
    e.tenantId = tenantId;
    e.senderName = input.senderName;
    e.senderAddress = input.senderAddress;
    e.subjectPrefix = input.subjectPrefix;
    e.revision = (existing?.revision ?? 0) + 1;
    e.updatedAt = this.clock.now();
    e.serverMode = input.server.mode;
    e.host = null;
    e.port = null;
    e.security = null;
    e.authType = 'none';
    e.username = null;
    e.passwordSealed = null;
    e.oauth2Provider = null;
    e.oauth2Credential = null;
    e.oauth2TenantId = null;
    e.oauth2ClientId = null;
    e.oauth2KeyId = null;
    e.oauth2ClientSecretSealed = null;
    e.oauth2PrivateKeySealed = null;
    e.oauth2RefreshTokenSealed = null;
    e.tlsCaPem = null;
    const server = input.server;
    if (server.mode === 'custom') {
      e.host = server.host.toLowerCase();
      e.port = server.port;
      e.security = server.security;
      // A CA vouches for any name it likes: kept (when the input leaves it out) only for the host it was uploaded for.
      if (server.tlsCa) e.tlsCaPem = readTrustedCa(server.tlsCa, this.clock.now());
      else if (server.tlsCa === undefined && existing?.serverMode === 'custom' && existing.host === e.host) e.tlsCaPem = existing.tlsCaPem;
      if (server.auth.type === 'password') {
        e.authType = 'password';
        e.username = server.auth.username;
        // Same host and account: keep the saved password. Any other change of host or user drops it.
        const keep = existing?.authType === 'password' && existing.host === e.host && existing.username === e.username;
        e.passwordSealed = this.secret(server.auth.password, existing?.passwordSealed, keep, tenantId, PASSWORD_FIELD);
      } else if (server.auth.type === 'oauth2') {
        this.applyOAuth2(e, server.auth, existing, tenantId);
      }
    }
    return e;
  }

  /**
   * A saved secret is kept (when the input leaves it out) only for the same host and the same identity it belongs to,
   * so pointing the settings at another server never sends it a token minted with a secret entered for the old one.
   */
  private applyOAuth2(e: MailSettingsEntity, auth: OAuth2AuthInput, existing: MailSettingsEntity | null, tenantId: string): void {
    e.authType = 'oauth2';
    e.username = auth.user;
    e.oauth2Provider = auth.provider;
    const prior = existing?.authType === 'oauth2' && existing.host === e.host && existing.oauth2Provider === auth.provider ? existing : null;
    if (auth.provider === 'microsoft') {
      e.oauth2Credential = 'client-secret';
      e.oauth2TenantId = auth.tenantId.toLowerCase();
      e.oauth2ClientId = auth.clientId.toLowerCase();
      const same = prior?.oauth2TenantId === e.oauth2TenantId && prior.oauth2ClientId === e.oauth2ClientId;
      e.oauth2ClientSecretSealed = this.secret(auth.clientSecret, prior?.oauth2ClientSecretSealed, same, tenantId, OAUTH2_CLIENT_SECRET_FIELD);
      return;
    }
    if (auth.credential === 'service-account') {
      e.oauth2Credential = 'service-account';
      if (auth.serviceAccountKey) {
        const key = readServiceAccountKey(auth.serviceAccountKey);
        e.oauth2ClientId = key.client_email;
        e.oauth2KeyId = key.private_key_id ?? null;
        e.oauth2PrivateKeySealed = this.box.seal(key.private_key, tenantId, OAUTH2_PRIVATE_KEY_FIELD);
      } else if (auth.serviceAccountKey === undefined && prior?.oauth2Credential === 'service-account' && prior.oauth2PrivateKeySealed) {
        e.oauth2ClientId = prior.oauth2ClientId;
        e.oauth2KeyId = prior.oauth2KeyId;
        e.oauth2PrivateKeySealed = prior.oauth2PrivateKeySealed;
      }
      return;
    }
    e.oauth2Credential = 'refresh-token';
    e.oauth2ClientId = auth.clientId;
    const sameClient = prior?.oauth2Credential === 'refresh-token' && prior.oauth2ClientId === e.oauth2ClientId;
    e.oauth2ClientSecretSealed = this.secret(auth.clientSecret, prior?.oauth2ClientSecretSealed, sameClient, tenantId, OAUTH2_CLIENT_SECRET_FIELD);
    // A refresh token is the grant of one user to one client.
    const sameGrant = sameClient && prior?.username === e.username;
    e.oauth2RefreshTokenSealed = this.secret(auth.refreshToken, prior?.oauth2RefreshTokenSealed, sameGrant, tenantId, OAUTH2_REFRESH_TOKEN_FIELD);
  }

  /** A new secret is sealed; an omitted one keeps the saved one where `keep` allows; `null` clears it. */
  private secret(input: string | null | undefined, saved: string | null | undefined, keep: boolean, tenantId: string, field: string): string | null {
    if (input) return this.box.seal(input, tenantId, field);
    if (input === undefined && keep && saved) return saved;
    return null;
  }
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** The service account key file, with its private key checked: an RSA key Google can verify (RS256). */
function readServiceAccountKey(text: string): GoogleServiceAccountKey {
  const key = JSON.parse(text) as GoogleServiceAccountKey;
  let ok = false;
  try {
    ok = createPrivateKey(key.private_key).asymmetricKeyType === 'rsa';
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new DomainError('VALIDATION_FAILED', 400, 'server.auth.serviceAccountKey has a private_key that is not an RSA private key; download a new JSON key for the service account.', {
      issues: [{ path: 'server.auth.serviceAccountKey', message: 'private_key is not an RSA private key' }],
    });
  }
  return key;
}

const caProblem = (problem: string) =>
  new DomainError('VALIDATION_FAILED', 400, `server.tlsCa ${problem}.`, { issues: [{ path: 'server.tlsCa', message: `server.tlsCa ${problem}` }] });

/**
 * The uploaded CA certificate, read with node:crypto and stored re-encoded: one certificate, a CA (basicConstraints
 * CA:TRUE), valid now. Trusting it adds to the public CAs for this site's server only; verification stays on.
 */
export function readTrustedCa(pem: string, now: Date): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw caProblem('is not a certificate that can be read; export the CA certificate as PEM (Base-64) and upload it again');
  }
  if (!cert.ca) throw caProblem(`is not a CA certificate (${subjectText(cert)} cannot issue certificates); upload the certificate of the CA that issued the server's certificate`);
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (to.getTime() < now.getTime()) throw caProblem(`expired on ${to.toISOString().slice(0, 10)}; upload the CA's current certificate`);
  if (from.getTime() > now.getTime()) throw caProblem(`is not valid before ${from.toISOString().slice(0, 10)}`);
  return cert.toString();
}

function trustedCaView(pem: string | null): { tlsCaSet: boolean; tlsCaSubject: string | null; tlsCaExpiresAt: string | null } {
  if (!pem) return { tlsCaSet: false, tlsCaSubject: null, tlsCaExpiresAt: null };
  try {
    const cert = new X509Certificate(pem);
    return { tlsCaSet: true, tlsCaSubject: subjectText(cert), tlsCaExpiresAt: new Date(cert.validTo).toISOString() };
  } catch {
    return { tlsCaSet: true, tlsCaSubject: null, tlsCaExpiresAt: null };
  }
}

/** "CN=Example Root CA, O=Example Corp": node:crypto gives one attribute a line. */
function subjectText(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).reverse().join(', ');
}
