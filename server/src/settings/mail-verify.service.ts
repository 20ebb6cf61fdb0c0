import { Injectable } from '@nestjs/common';
import type { MailSettingsParsed, VerifyResult } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { AppConfig } from '../config/app-config';
import { ComposeService } from '../compose/compose.service';
import { SmtpPool } from '../mail/smtp/smtp-pool.service';
import { MailSettingsService } from './mail-settings.service';

/** "Test connection": connect, TLS and AUTH against saved or submitted settings, then optionally a short test mail. */
@Injectable()
export class MailVerifyService {
  constructor(
    private readonly settings: MailSettingsService,
    private readonly smtp: SmtpPool,
    private readonly composer: ComposeService,
    private readonly config: AppConfig,
  ) {}

  async verify(auth: AuthContext, req: { settings?: MailSettingsParsed; testRecipient?: string }): Promise<VerifyResult> {
    const s = await this.settings.resolve(auth.tenantId, req.settings);
    await this.smtp.verify(s.target);
    const steps = ['connect', ...(s.target.security === 'none' ? [] : ['tls']), ...(s.target.auth ? ['auth'] : [])];
    const where = `${s.target.host}:${s.target.port}`;
    if (!req.testRecipient) return { ok: true, steps, message: `Connected to ${where}${s.target.auth ? ' and signed in' : ''}.` };

    const mail = await this.composer.compose({
      title: 'Mailpage test mail',
      html: '<p>This is a test mail from Mailpage. The mail server settings work.</p>',
      subjectPrefix: s.subjectPrefix,
      from: { name: s.senderName || undefined, address: s.senderAddress },
      to: [{ address: req.testRecipient }],
      cc: [],
      images: [],
      attachments: [],
      messageIdDomain: s.senderAddress.split('@')[1],
      maxBytes: this.config.limits.maxMailBytes,
    });
    await this.smtp.send(s.target, { from: s.senderAddress, to: [req.testRecipient] }, mail.raw);
    return { ok: true, steps: [...steps, 'test-mail'], message: `Connected to ${where} and sent a test mail.`, testMessageId: mail.messageId };
  }
}
