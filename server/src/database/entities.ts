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
  authType!: 'password' | 'none';

  @Column({ type: 'varchar', length: 320, nullable: true })
  username!: string | null;

  @Column({ name: 'password_sealed', type: 'text', nullable: true })
  passwordSealed!: string | null;

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

export const ENTITIES = [TenantEntity, MailSettingsEntity, SendEntity, GlobalPermissionsEntity, SpacePermissionsEntity];
