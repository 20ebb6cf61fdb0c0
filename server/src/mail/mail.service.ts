import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Mailbox, PreviewResult, SendAccepted, SendRequestParsed, SendResult, SendStatusView } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { ComposeService, type ComposedMail, type MailFile } from '../compose/compose.service';
import { SendEntity } from '../database/entities';
import { SecretBox } from '../secrets/secret-box';
import { MailSettingsService, type ResolvedMailSettings } from '../settings/mail-settings.service';
import { resolveRecipients, type ResolvedRecipients } from './recipients';
import { SendLedger } from './send-ledger';
import { SmtpPool } from './smtp/smtp-pool.service';

export interface Uploads {
  images: MailFile[];
  attachments: MailFile[];
}

export type SendOutcome = { status: 200; body: SendResult } | { status: 202; body: SendAccepted };

/** Failures after which nothing was delivered: the idempotency key is released so the same request can be retried. */
const NOTHING_SENT = new Set(['SMTP_HOST_NOT_ALLOWED', 'SMTP_CONNECT_FAILED', 'SMTP_TLS_FAILED', 'SMTP_AUTH_FAILED', 'SMTP_SENDER_REJECTED', 'SMTP_RECIPIENT_REJECTED', 'SMTP_MESSAGE_REJECTED', 'MAIL_NOT_CONFIGURED']);

interface Prepared {
  settings: ResolvedMailSettings;
  recipients: ResolvedRecipients;
  mail: ComposedMail;
}

@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly config: AppConfig,
    private readonly settings: MailSettingsService,
    private readonly composer: ComposeService,
    private readonly smtp: SmtpPool,
    private readonly ledger: SendLedger,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async preview(auth: AuthContext, req: SendRequestParsed, uploads: Uploads): Promise<PreviewResult> {
    const { mail, recipients } = await this.prepare(auth, req, uploads);
    return {
      subject: mail.subject,
      html: mail.html,
      text: mail.text,
      size: mail.size,
      attachments: mail.parts,
      recipients: { to: recipients.to.map((m) => m.address), cc: recipients.cc.map((m) => m.address), bcc: recipients.bcc.map((m) => m.address) },
    };
  }

  async send(auth: AuthContext, req: SendRequestParsed, uploads: Uploads, idempotencyKey: string | null): Promise<SendOutcome> {
    const started = Date.now();
    const prepared = await this.prepare(auth, req, uploads);
    const row = Object.assign(new SendEntity(), {
      id: randomUUID(),
      tenantId: auth.tenantId,
      accountId: auth.accountId,
      idempotencyKey,
      requestMac: idempotencyKey ? this.requestMac(auth, req, uploads) : null,
      status: 'sending',
      pageId: req.pageId ?? auth.contentId ?? null,
      spaceKey: req.spaceKey ?? auth.spaceKey ?? null,
      recipientCount: prepared.recipients.all.length,
      rejectedPositions: null,
      encryption: 'none',
      smtpCode: null,
      messageId: null,
      errorCode: null,
      sizeBytes: prepared.mail.size,
      durationMs: null,
      createdAt: this.clock.now(),
      finishedAt: null,
    } satisfies SendEntity);

    const reservation = await this.ledger.reserve(row);
    if (!reservation.reserved) {
      this.logger.debug({ sendId: reservation.existing.id, status: reservation.existing.status }, 'idempotent replay');
      return this.replay(auth, reservation.existing, row.requestMac, prepared.recipients);
    }
    this.logger.trace({ sendId: row.id, recipients: row.recipientCount, bytes: row.sizeBytes, parts: prepared.mail.parts.length }, 'mail composed; handing it to SMTP');

    const delivery = this.deliver(row, prepared, started);
    this.track(delivery);
    const timeout = this.config.sendSyncTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), timeout)));
    try {
      const first = await Promise.race([delivery, slow]);
      if (first === 'slow') return { status: 202, body: { sendId: row.id, status: 'sending' } };
      return { status: 200, body: first };
    } finally {
      clearTimeout(timer);
    }
  }

  async status(auth: AuthContext, sendId: string): Promise<SendStatusView> {
    const row = /^[0-9a-f-]{36}$/.test(sendId) ? await this.ledger.find(auth.tenantId, sendId) : null;
    if (!row) throw new DomainError('NOT_FOUND', 404, 'No send with this id exists for your site.');
    if (row.accountId !== auth.accountId && !auth.local) throw new DomainError('FORBIDDEN', 403, 'This send was made by another user.');
    const rejected = row.rejectedPositions ? JSON.parse(row.rejectedPositions).length : row.status === 'sent' ? 0 : null;
    return {
      sendId: row.id,
      status: row.status,
      messageId: row.messageId,
      recipientCount: row.recipientCount,
      acceptedCount: row.status === 'sent' ? row.recipientCount - (rejected ?? 0) : null,
      rejectedCount: rejected,
      errorCode: row.errorCode,
      createdAt: row.createdAt.toISOString(),
      finishedAt: row.finishedAt?.toISOString() ?? null,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch(() => undefined).finally(() => this.inFlight.delete(t));
    this.inFlight.add(t);
  }

  private async prepare(auth: AuthContext, req: SendRequestParsed, uploads: Uploads): Promise<Prepared> {
    if (req.encryption === 'pgp' || req.encryption === 'smime') {
      throw new DomainError('VALIDATION_FAILED', 400, `encryption "${req.encryption}" is not available on this server yet; choose "none" or "auto".`);
    }
    if (req.title === undefined || req.html === undefined) {
      throw new DomainError('VALIDATION_FAILED', 400, 'The request is not valid: title and html are required.');
    }
    const recipients = await resolveRecipients(req, this.config.limits.maxRecipients, async (_id, where) => {
      throw new DomainError('VALIDATION_FAILED', 400, `${where}: Confluence users as recipients need the Confluence connection; give an email address.`);
    });
    const settings = await this.settings.resolve(auth.tenantId);
    const from: Mailbox = { name: settings.senderName || undefined, address: settings.senderAddress };
    const mail = await this.composer.compose({
      title: req.title,
      html: req.html,
      subjectPrefix: settings.subjectPrefix,
      from,
      to: recipients.to,
      cc: recipients.cc,
      images: uploads.images,
      attachments: uploads.attachments,
      messageIdDomain: settings.senderAddress.split('@')[1],
      maxBytes: this.config.limits.maxMailBytes,
    });
    return { settings, recipients, mail };
  }

  private async deliver(row: SendEntity, p: Prepared, started: number): Promise<SendResult> {
    try {
      const r = await this.smtp.send(p.settings.target, { from: p.settings.senderAddress, to: p.recipients.all }, p.mail.raw);
      const rejectedSet = new Set(r.rejected.map((a) => a.toLowerCase()));
      const positions = p.recipients.all.flatMap((a, i) => (rejectedSet.has(a.toLowerCase()) ? [i] : []));
      await this.ledger.finish(row.id, {
        status: 'sent',
        smtpCode: r.code,
        messageId: p.mail.messageId,
        rejectedPositions: positions.length ? JSON.stringify(positions) : null,
        durationMs: Date.now() - started,
        finishedAt: this.clock.now(),
      });
      this.logger.info({ sendId: row.id, outcome: 'sent', smtpCode: r.code, rejected: positions.length, ms: Date.now() - started }, 'mail sent');
      return this.result(row.id, p.mail.messageId, p.recipients.all, positions);
    } catch (e) {
      const code = e instanceof DomainError ? e.code : 'INTERNAL_ERROR';
      this.logger.info({ sendId: row.id, outcome: 'failed', code, ms: Date.now() - started }, 'mail not sent');
      const smtpCode = e instanceof DomainError && typeof e.details?.smtpCode === 'number' ? e.details.smtpCode : null;
      await this.ledger.finish(row.id, {
        status: code === 'SMTP_OUTCOME_UNKNOWN' ? 'unknown' : 'failed',
        errorCode: code,
        smtpCode,
        durationMs: Date.now() - started,
        finishedAt: this.clock.now(),
        ...(NOTHING_SENT.has(code) ? { idempotencyKey: null } : {}),
      });
      throw e;
    }
  }

  private result(sendId: string, messageId: string, all: string[], rejectedPositions: number[]): SendResult {
    const rejected = new Set(rejectedPositions);
    return { sendId, messageId, accepted: all.filter((_, i) => !rejected.has(i)), rejected: all.filter((_, i) => rejected.has(i)), encryption: 'none' };
  }

  private replay(auth: AuthContext, existing: SendEntity, mac: string | null, recipients: ResolvedRecipients): SendOutcome {
    if (existing.accountId !== auth.accountId || existing.requestMac !== mac) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 422, 'This Idempotency-Key was already used for a different request; use a new key for a new mail.');
    }
    if (existing.status === 'sending') return { status: 202, body: { sendId: existing.id, status: 'sending' } };
    if (existing.status === 'sent') {
      const positions: number[] = existing.rejectedPositions ? JSON.parse(existing.rejectedPositions) : [];
      return { status: 200, body: this.result(existing.id, existing.messageId!, recipients.all, positions) };
    }
    if (existing.status === 'unknown') {
      throw new DomainError('SMTP_OUTCOME_UNKNOWN', 409, 'An earlier send with this Idempotency-Key lost its connection after the mail was handed over, so it may have been delivered; it is not sent again.', { sendId: existing.id });
    }
    throw new DomainError('SMTP_FAILED', 409, `An earlier send with this Idempotency-Key failed (${existing.errorCode}); it is not sent again. Use a new key to try again.`, { sendId: existing.id, errorCode: existing.errorCode });
  }

  private requestMac(auth: AuthContext, req: SendRequestParsed, uploads: Uploads): string {
    const digest = (f: MailFile) => `${f.filename}\u0000${f.contentType}\u0000${createHash('sha256').update(f.content).digest('hex')}`;
    return this.box.mac(auth.tenantId, auth.accountId, JSON.stringify(req), ...uploads.images.map(digest), '|', ...uploads.attachments.map(digest));
  }
}
