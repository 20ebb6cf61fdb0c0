import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One Confluence installation of the app (Forge `app.installationId`). Every other row hangs off it. */
@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'api_base_url', type: 'varchar', length: 512 })
  apiBaseUrl!: string;

  @Column({ name: 'installed_at', type: 'datetime', precision: 3 })
  installedAt!: Date;

  @Column({ name: 'last_seen_at', type: 'datetime', precision: 3 })
  lastSeenAt!: Date;

  /** Days audit rows are kept; null means the default (90). */
  @Column({ name: 'audit_retention_days', type: 'int', nullable: true })
  auditRetentionDays!: number | null;
}

/** Who may send on the whole site. No row: enabled for everyone. */
@Entity('global_permissions')
export class GlobalPermissionsEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  /** JSON array of Confluence group names; empty: every user. */
  @Column({ name: 'allowed_groups', type: 'text' })
  allowedGroups!: string;

  @Column({ name: 'enforce_in_all_spaces', type: 'boolean' })
  enforceInAllSpaces!: boolean;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** A space admin's rule for one space. No row: the space follows the global rule. */
@Entity('space_permissions')
export class SpacePermissionsEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @PrimaryColumn({ name: 'space_key', type: 'varchar', length: 255 })
  spaceKey!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ name: 'allowed_groups', type: 'text' })
  allowedGroups!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** A tenant's mail server and sender. The password is sealed by `SecretBox`; nothing here is mail content. */
@Entity('mail_settings')
export class MailSettingsEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @Column({ name: 'sender_name', type: 'varchar', length: 255 })
  senderName!: string;

  @Column({ name: 'sender_address', type: 'varchar', length: 320 })
  senderAddress!: string;

  @Column({ name: 'subject_prefix', type: 'varchar', length: 255 })
  subjectPrefix!: string;

  @Column({ name: 'server_mode', type: 'varchar', length: 16 })
  serverMode!: 'custom' | 'provided';

  @Column({ type: 'varchar', length: 253, nullable: true })
  host!: string | null;

  @Column({ type: 'int', nullable: true })
  port!: number | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  security!: 'tls' | 'starttls' | 'none' | null;

  @Column({ name: 'auth_type', type: 'varchar', length: 16 })
  authType!: 'password' | 'none' | 'oauth2';

  @Column({ type: 'varchar', length: 320, nullable: true })
  username!: string | null;

  @Column({ name: 'password_sealed', type: 'text', nullable: true })
  passwordSealed!: string | null;

  // OAuth2 (auth_type "oauth2"): `username` holds the mailbox the token is for (the XOAUTH2 user).
  @Column({ name: 'oauth2_provider', type: 'varchar', length: 16, nullable: true })
  oauth2Provider!: 'microsoft' | 'google' | null;

  @Column({ name: 'oauth2_credential', type: 'varchar', length: 32, nullable: true })
  oauth2Credential!: 'client-secret' | 'service-account' | 'refresh-token' | null;

  /** Microsoft: the directory (tenant) id or domain. */
  @Column({ name: 'oauth2_tenant_id', type: 'varchar', length: 253, nullable: true })
  oauth2TenantId!: string | null;

  /** Microsoft: the application id; Google: the OAuth client id, or the service account's client_email. */
  @Column({ name: 'oauth2_client_id', type: 'varchar', length: 320, nullable: true })
  oauth2ClientId!: string | null;

  /** Google service account: the key's private_key_id (the `kid` of the signed assertion). */
  @Column({ name: 'oauth2_key_id', type: 'varchar', length: 128, nullable: true })
  oauth2KeyId!: string | null;

  @Column({ name: 'oauth2_client_secret_sealed', type: 'text', nullable: true })
  oauth2ClientSecretSealed!: string | null;

  @Column({ name: 'oauth2_private_key_sealed', type: 'text', nullable: true })
  oauth2PrivateKeySealed!: string | null;

  @Column({ name: 'oauth2_refresh_token_sealed', type: 'text', nullable: true })
  oauth2RefreshTokenSealed!: string | null;

  /** A CA certificate (PEM) the admin uploaded to trust for the custom server, besides the public CAs. Public, not sealed (mediumtext on MySQL). */
  @Column({ name: 'tls_ca_pem', type: 'text', nullable: true })
  tlsCaPem!: string | null;

  /** Bumped on every save: part of the SMTP pool key, so a change never reuses an old connection. */
  @Column({ type: 'int' })
  revision!: number;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/**
 * One send attempt: the audit row, the idempotency record and the status a client polls, in one.
 * Metadata only: no title, body, address or file name (docs/PRIVACY.md).
 */
@Entity('sends')
@Index('uq_sends_idempotency', ['tenantId', 'idempotencyKey'], { unique: true })
@Index('ix_sends_tenant_created', ['tenantId', 'createdAt'])
export class SendEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @Column({ name: 'account_id', type: 'varchar', length: 128 })
  accountId!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  /** Keyed hash (HMAC) of the request, to tell a retry from a different request reusing a key. */
  @Column({ name: 'request_mac', type: 'varchar', length: 64, nullable: true })
  requestMac!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: 'sending' | 'sent' | 'failed' | 'unknown';

  @Column({ name: 'page_id', type: 'varchar', length: 64, nullable: true })
  pageId!: string | null;

  @Column({ name: 'space_key', type: 'varchar', length: 255, nullable: true })
  spaceKey!: string | null;

  @Column({ name: 'recipient_count', type: 'int' })
  recipientCount!: number;

  /** Positions (in the request's to, cc, bcc order) of rejected recipients: lets a replay answer without storing addresses. */
  @Column({ name: 'rejected_positions', type: 'varchar', length: 2048, nullable: true })
  rejectedPositions!: string | null;

  @Column({ type: 'varchar', length: 16 })
  encryption!: string;

  @Column({ name: 'smtp_code', type: 'int', nullable: true })
  smtpCode!: number | null;

  @Column({ name: 'message_id', type: 'varchar', length: 255, nullable: true })
  messageId!: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'size_bytes', type: 'int', nullable: true })
  sizeBytes!: number | null;

  @Column({ name: 'duration_ms', type: 'int', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt!: Date | null;
}

/** Recipients a tenant sent to through the operator's provided relay on one UTC day: a counter, nothing else. */
@Entity('provided_quota')
export class ProvidedQuotaEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  /** YYYY-MM-DD (UTC). */
  @PrimaryColumn({ type: 'varchar', length: 10 })
  day!: string;

  @Column({ type: 'int' })
  recipients!: number;
}

/** A public PGP key or S/MIME certificate for one address: uploaded by its user, or by a site admin for an external address. */
@Entity('public_keys')
@Index('uq_public_keys_email_kind', ['tenantId', 'email', 'kind'], { unique: true })
export class PublicKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  /** The Confluence user who uploaded it; null for a key a site admin added for an external address. */
  @Column({ name: 'account_id', type: 'varchar', length: 128, nullable: true })
  accountId!: string | null;

  @Column({ type: 'varchar', length: 320 })
  email!: string;

  @Column({ type: 'varchar', length: 8 })
  kind!: 'pgp' | 'smime';

  @Column({ type: 'varchar', length: 128 })
  fingerprint!: string;

  /** Armored public key or PEM certificate: public material. */
  @Column({ name: 'key_text', type: 'text' })
  keyText!: string;

  /** JSON: algorithm, bits, emails, created, expires. */
  @Column({ type: 'text' })
  meta!: string;

  @Column({ name: 'uploaded_at', type: 'datetime', precision: 3 })
  uploadedAt!: Date;
}

/** A site's encryption policy and its signing keys; private keys and passphrases are sealed by SecretBox. */
@Entity('encryption_settings')
export class EncryptionSettingsEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @Column({ type: 'varchar', length: 16 })
  policy!: 'off' | 'opportunistic' | 'required';

  @Column({ type: 'varchar', length: 8 })
  preferred!: 'pgp' | 'smime';

  @Column({ type: 'boolean' })
  sign!: boolean;

  @Column({ name: 'protected_subject', type: 'varchar', length: 255 })
  protectedSubject!: string;

  @Column({ name: 'pgp_key_sealed', type: 'text', nullable: true })
  pgpKeySealed!: string | null;

  @Column({ name: 'pgp_passphrase_sealed', type: 'text', nullable: true })
  pgpPassphraseSealed!: string | null;

  @Column({ name: 'pgp_meta', type: 'text', nullable: true })
  pgpMeta!: string | null;

  @Column({ name: 'smime_p12_sealed', type: 'text', nullable: true })
  smimeP12Sealed!: string | null;

  @Column({ name: 'smime_password_sealed', type: 'text', nullable: true })
  smimePasswordSealed!: string | null;

  @Column({ name: 'smime_meta', type: 'text', nullable: true })
  smimeMeta!: string | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** bigint columns come back from mysql2 as strings; these hold epoch seconds, well inside a double's exact range. */
const epochSeconds = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/**
 * Fixed-window send counters shared by every node (RateLimitService). The key is a hash of what is limited (user or
 * tenant), so the table holds no ids; a row is deleted some time after its window ends.
 */
@Entity('rate_limits')
@Index('ix_rate_limits_expires', ['expiresAt'])
export class RateLimitEntity {
  @PrimaryColumn({ name: 'limit_key', type: 'varchar', length: 64 })
  key!: string;

  /** Epoch seconds at which the window starts (a multiple of its length). */
  @PrimaryColumn({ name: 'window_start', type: 'bigint', transformer: epochSeconds })
  windowStart!: number;

  @Column({ type: 'int' })
  count!: number;

  /** Epoch seconds after which the row is no longer needed. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochSeconds })
  expiresAt!: number;
}

/** How a site's mail looks around the page (GET/PUT /api/settings/layout). Site configuration, never mail content. */
@Entity('mail_layouts')
export class MailLayoutEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @Column({ name: 'header_text', type: 'varchar', length: 255 })
  headerText!: string;

  @Column({ name: 'logo_content_type', type: 'varchar', length: 16, nullable: true })
  logoContentType!: 'image/png' | 'image/jpeg' | null;

  /** Base64 of at most 200 kB (mediumtext on MySQL, see the migration). */
  @Column({ name: 'logo_base64', type: 'text', nullable: true })
  logoBase64!: string | null;

  @Column({ name: 'footer_template', type: 'text' })
  footerTemplate!: string;

  /** Up to 20 000 characters (mediumtext on MySQL). */
  @Column({ name: 'custom_css', type: 'text' })
  customCss!: string;

  @Column({ name: 'include_page_link', type: 'boolean' })
  includePageLink!: boolean;

  @Column({ name: 'allow_space_overrides', type: 'boolean' })
  allowSpaceOverrides!: boolean;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** The domains a site's mail may (or may not) go to. No row: any domain. */
@Entity('recipient_policies')
export class RecipientPolicyEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  /** JSON array of normalised entries (`example.com`, `.example.com`); empty: any domain not blocked. */
  @Column({ name: 'allowed_domains', type: 'text' })
  allowedDomains!: string;

  @Column({ name: 'blocked_domains', type: 'text' })
  blockedDomains!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** A space admin's sender overrides for one space; used only while the site's layout allows space overrides. */
@Entity('space_mail_settings')
export class SpaceMailSettingsEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'varchar', length: 64 })
  tenantId!: string;

  @PrimaryColumn({ name: 'space_key', type: 'varchar', length: 255 })
  spaceKey!: string;

  @Column({ name: 'sender_name', type: 'varchar', length: 255, nullable: true })
  senderName!: string | null;

  @Column({ name: 'reply_to', type: 'varchar', length: 320, nullable: true })
  replyTo!: string | null;

  @Column({ name: 'subject_prefix', type: 'varchar', length: 255, nullable: true })
  subjectPrefix!: string | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

export const ENTITIES = [PublicKeyEntity, EncryptionSettingsEntity, TenantEntity, MailSettingsEntity, SendEntity, GlobalPermissionsEntity, SpacePermissionsEntity, ProvidedQuotaEntity, RateLimitEntity, MailLayoutEntity, RecipientPolicyEntity, SpaceMailSettingsEntity];
