import { Injectable } from '@nestjs/common';
import type { MailSettingsParsed, VerifyResult } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { ComposeService } from '../compose/compose.service';
import { DkimSigner } from '../mail/dkim';
import { SmtpPool } from '../mail/smtp/smtp-pool.service';
import { MailSettingsService } from './mail-settings.service';
import { ProvidedQuota } from './provided-quota.service';

/** "Test connection": connect, TLS and AUTH against saved or submitted settings, then optionally a short test mail. */
@Injectable()
export class MailVerifyService {
  constructor(
    private readonly settings: MailSettingsService,
    private readonly smtp: SmtpPool,
    private readonly composer: ComposeService,
    private readonly config: AppConfig,
    private readonly dkim: DkimSigner,
    private readonly quota: ProvidedQuota,
  ) {}

  async verify(auth: AuthContext, req: { settings?: MailSettingsParsed; testRecipient?: string }): Promise<VerifyResult> {
    const s = await this.settings.resolve(auth.tenantId, req.settings);
    await this.smtp.verify(s.target);
    const steps = ['connect', ...(s.target.security === 'none' ? [] : ['tls']), ...(s.target.auth ? ['auth'] : [])];
    // The operator's relay is named as such: its host is the operator's business, not the site's.
    const where = s.relay === 'provided' ? 'the provided mail relay' : `${s.target.host}:${s.target.port}`;
    if (!req.testRecipient) return { ok: true, steps, message: `Connected to ${where}${s.target.auth ? ' and signed in' : ''}.` };

    const mail = await this.composer.compose({
      title: 'Mailpage test mail',
      html: '<p>This is a test mail from Mailpage. The mail server settings work.</p>',
      subjectPrefix: s.subjectPrefix,
      from: s.from,
      ...(s.replyTo ? { replyTo: s.replyTo } : {}),
      to: [{ address: req.testRecipient }],
      cc: [],
      images: [],
      attachments: [],
      messageIdDomain: s.messageIdDomain,
      maxBytes: this.config.limits.maxMailBytes,
    });
    const raw = s.dkimSign ? this.dkim.sign(mail.raw) : mail.raw;
    const hold = s.relay === 'provided' ? await this.quota.consume(auth.tenantId, 1) : null;
    try {
      await this.smtp.send(s.target, { from: s.envelopeFrom, to: [req.testRecipient] }, raw);
    } catch (e) {
      // Nothing was delivered unless the outcome is unknown: the recipient does not count against the quota.
      if (!(e instanceof DomainError && e.code === 'SMTP_OUTCOME_UNKNOWN')) await this.quota.release(hold);
      throw e;
    }
    return { ok: true, steps: [...steps, 'test-mail'], message: `Connected to ${where} and sent a test mail.`, testMessageId: mail.messageId };
  }
}
