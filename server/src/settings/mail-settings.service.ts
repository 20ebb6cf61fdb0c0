import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { MailSettingsParsed, MailSettingsView } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { MailSettingsEntity } from '../database/entities';
import { SecretBox } from '../secrets/secret-box';
import type { SmtpTarget } from '../mail/smtp/smtp.types';

export const PASSWORD_FIELD = 'smtp.password';

/** A tenant's saved settings with the password opened: for sending only, never for a response. */
export interface ResolvedMailSettings {
  senderName: string;
  senderAddress: string;
  subjectPrefix: string;
  target: SmtpTarget;
}

export function toSettingsView(e: MailSettingsEntity | null): MailSettingsView {
  if (!e) {
    return { configured: false, senderName: '', senderAddress: '', subjectPrefix: '', server: { mode: 'custom', host: '', port: 587, security: 'starttls', auth: { type: 'none' } }, updatedAt: null };
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
            auth: e.authType === 'password' ? { type: 'password', username: e.username ?? '', passwordSet: !!e.passwordSealed } : { type: 'none' },
          },
    updatedAt: e.updatedAt.toISOString(),
  };
}

@Injectable()
export class MailSettingsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  private get repo() {
    return this.db.getRepository(MailSettingsEntity);
  }

  async view(tenantId: string): Promise<MailSettingsView> {
    return toSettingsView(await this.repo.findOneBy({ tenantId }));
  }

  async save(tenantId: string, input: MailSettingsParsed): Promise<MailSettingsView> {
    const existing = await this.repo.findOneBy({ tenantId });
    const row = this.toEntity(tenantId, input, existing);
    await this.repo.save(row);
    return toSettingsView(row);
  }

  /** The settings a send or a connection test uses: the saved ones, or submitted ones with the saved password where it still applies. */
  async resolve(tenantId: string, submitted?: MailSettingsParsed): Promise<ResolvedMailSettings> {
    const saved = await this.repo.findOneBy({ tenantId });
    const e = submitted ? this.toEntity(tenantId, submitted, saved) : saved;
    if (!e) throw new DomainError('MAIL_NOT_CONFIGURED', 409, 'Mail is not set up yet: a site admin must save the mail server settings first.');
    if (e.serverMode === 'provided') {
      throw new DomainError('MAIL_NOT_CONFIGURED', 409, "This service's operator does not offer a provided relay; a site admin must set up a custom mail server.");
    }
    let auth: SmtpTarget['auth'] = null;
    if (e.authType === 'password') {
      if (!e.passwordSealed) throw new DomainError('MAIL_NOT_CONFIGURED', 409, 'The mail server settings have a username but no password; a site admin must enter the password.');
      auth = { user: e.username ?? '', pass: this.box.open(e.passwordSealed, tenantId, PASSWORD_FIELD) };
    }
    return {
      senderName: e.senderName,
      senderAddress: e.senderAddress,
      subjectPrefix: e.subjectPrefix,
      target: { key: `${tenantId}:${e.revision}:${submitted ? 'submitted' : 'saved'}`, host: e.host!, port: e.port!, security: e.security!, auth },
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
    const server = input.server;
    if (server.mode === 'custom') {
      e.host = server.host.toLowerCase();
      e.port = server.port;
      e.security = server.security;
      if (server.auth.type === 'password') {
        e.authType = 'password';
        e.username = server.auth.username;
        const { password } = server.auth;
        if (password) e.passwordSealed = this.box.seal(password, tenantId, PASSWORD_FIELD);
        else if (password === undefined && existing?.passwordSealed && existing.host === e.host && existing.username === e.username) {
          // Same host and account: keep the saved password. Any other change of host or user drops it.
          e.passwordSealed = existing.passwordSealed;
        }
      }
    }
    return e;
  }
}
