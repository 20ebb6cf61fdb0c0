import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { parseMailbox, type Mailbox, type PreviewResult, type SendAccepted, type SendRequestParsed, type SendResult, type SendStatusView } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { ComposeService, type ComposedMail, type MailFile } from '../compose/compose.service';
import { ConfluenceClient } from '../confluence/confluence.client';
import { SendEntity } from '../database/entities';
import { PermissionsService } from '../permissions/permissions.service';
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
  pageId: string | null;
  spaceKey: string | null;
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
    private readonly permissions: PermissionsService,
    private readonly confluence: ConfluenceClient,
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
    let prepared: Prepared;
    try {
      prepared = await this.prepare(auth, req, uploads);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'FORBIDDEN') await this.auditRefusal(auth, req, started);
      throw e;
    }
    const row = Object.assign(new SendEntity(), {
      id: randomUUID(),
      tenantId: auth.tenantId,
      accountId: auth.accountId,
      idempotencyKey,
      requestMac: idempotencyKey ? this.requestMac(auth, req, uploads) : null,
      status: 'sending',
      pageId: prepared.pageId,
      spaceKey: prepared.spaceKey,
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

  /**
   * Everything before SMTP: permission, page, attachments, recipients, settings, the composed bytes. Any failure here
   * means nothing was sent and nothing was stored. Page and space come from the verified token where Forge gives them.
   */
  private async prepare(auth: AuthContext, req: SendRequestParsed, uploads: Uploads): Promise<Prepared> {
    if (req.encryption === 'pgp' || req.encryption === 'smime') {
      throw new DomainError('VALIDATION_FAILED', 400, `encryption "${req.encryption}" is not available on this server yet; choose "none" or "auto".`);
    }
    const pageId = auth.contentId ?? req.pageId ?? null;
    let spaceKey = auth.spaceKey ?? req.spaceKey ?? null;
    await this.permissions.assertMaySend(auth, spaceKey);
    const maxBytes = this.config.limits.maxMailBytes;

    let title = req.title;
    let html = req.html;
    let images = uploads.images;
    if (html === undefined) {
      if (!pageId) throw new DomainError('VALIDATION_FAILED', 400, 'The request is not valid: give html and title, or the pageId of a Confluence page.');
      const page = await this.confluence.getPageForMail(auth, pageId, { maxBytes });
      if (page.spaceKey && page.spaceKey !== spaceKey) {
        spaceKey = page.spaceKey;
        await this.permissions.assertMaySend(auth, spaceKey);
      }
      html = page.html;
      title ??= page.title;
      images = [...page.images, ...images];
    }
    if (title === undefined || html === undefined) throw new DomainError('VALIDATION_FAILED', 400, 'The request is not valid: title is required with html.');

    const attachments = [...uploads.attachments];
    if (req.attachmentIds.length) {
      if (!pageId) throw new DomainError('VALIDATION_FAILED', 400, 'attachmentIds need the pageId of the page they belong to.');
      let budget = maxBytes - [...images, ...attachments].reduce((n, f) => n + f.content.length, 0);
      for (const id of new Set(req.attachmentIds)) {
        const file = await this.confluence.downloadAttachment(auth, pageId, id, budget);
        budget -= file.content.length;
        attachments.push(file);
      }
    }

    const recipients = await resolveRecipients(req, this.config.limits.maxRecipients, async (accountId, where) => {
      const email = await this.confluence.resolveEmail(auth, accountId);
      if (!email) {
        throw new DomainError('VALIDATION_FAILED', 400, `${where}: this Confluence user hides their email address and the app may not read it; add their address by hand.`, { recipients: [`${where} hides their email address`] });
      }
      const parsed = parseMailbox(email);
      if (!parsed.ok) throw new DomainError('VALIDATION_FAILED', 400, `${where}: Confluence gave an address for this user that is not valid.`);
      return parsed.mailbox;
    });
    const settings = await this.settings.resolve(auth.tenantId);
    const from: Mailbox = { name: settings.senderName || undefined, address: settings.senderAddress };
    const mail = await this.composer.compose({
      title,
      html,
      subjectPrefix: settings.subjectPrefix,
      from,
      to: recipients.to,
      cc: recipients.cc,
      images,
      attachments,
      messageIdDomain: settings.senderAddress.split('@')[1],
      maxBytes,
    });
    return { settings, recipients, mail, pageId, spaceKey };
  }

  /** A send refused by the permission rules is an attempt too: the audit log shows who tried, where, and when. */
  private async auditRefusal(auth: AuthContext, req: SendRequestParsed, started: number): Promise<void> {
    await this.ledger.reserve(
      Object.assign(new SendEntity(), {
        id: randomUUID(),
        tenantId: auth.tenantId,
        accountId: auth.accountId,
        idempotencyKey: null,
        requestMac: null,
        status: 'failed',
        pageId: auth.contentId ?? req.pageId ?? null,
        spaceKey: auth.spaceKey ?? req.spaceKey ?? null,
        recipientCount: req.to.length + req.cc.length + req.bcc.length,
        rejectedPositions: null,
        encryption: 'none',
        smtpCode: null,
        messageId: null,
        errorCode: 'FORBIDDEN',
        sizeBytes: null,
        durationMs: Date.now() - started,
        createdAt: this.clock.now(),
        finishedAt: this.clock.now(),
      } satisfies SendEntity),
    );
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
