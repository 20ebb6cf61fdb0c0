import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { parseMailbox, type PreviewResult, type SendAccepted, type SendRequestParsed, type SendResult, type SendStatusView } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { ComposeService, type ComposedMail, type MailFile } from '../compose/compose.service';
import { ConfluenceClient } from '../confluence/confluence.client';
import { MailCryptoService, type ProtectedMail } from '../crypto/mail-crypto.service';
import { SendEntity } from '../database/entities';
import { EncryptionService } from '../keys/encryption.service';
import { KeysService } from '../keys/keys.service';
import { PermissionsService } from '../permissions/permissions.service';
import { SecretBox } from '../secrets/secret-box';
import { ProvidedQuota, type QuotaHold } from '../settings/provided-quota.service';
import { DkimSigner } from './dkim';
import { MailSettingsService, type ResolvedMailSettings } from '../settings/mail-settings.service';
import { resolveRecipients, type ResolvedRecipients } from './recipients';
import { RateLimitService, rateLimitMessage } from './rate-limit.service';
import { SendLedger } from './send-ledger';
import { SmtpPool } from './smtp/smtp-pool.service';

export interface Uploads {
  images: MailFile[];
  attachments: MailFile[];
}

export type SendOutcome = { status: 200; body: SendResult } | { status: 202; body: SendAccepted };

/** Failures after which nothing was delivered: the idempotency key is released so the same request can be retried. */
const NOTHING_SENT = new Set(['SMTP_HOST_NOT_ALLOWED', 'SMTP_CONNECT_FAILED', 'SMTP_TLS_FAILED', 'SMTP_AUTH_FAILED', 'SMTP_SENDER_REJECTED', 'SMTP_RECIPIENT_REJECTED', 'SMTP_MESSAGE_REJECTED', 'SMTP_TIMEOUT', 'SERVICE_UNAVAILABLE', 'MAIL_NOT_CONFIGURED']);

interface Prepared {
  settings: ResolvedMailSettings;
  recipients: ResolvedRecipients;
  mail: ComposedMail;
  pageId: string | null;
  spaceKey: string | null;
}

/** The messages that go out (one, or one per bcc recipient when encrypted) and how they are protected. */
interface Outgoing {
  messages: ProtectedMail[];
  encryption: SendResult['encryption'];
  signed: boolean;
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
    private readonly encryption: EncryptionService,
    private readonly keys: KeysService,
    private readonly crypto: MailCryptoService,
    private readonly dkim: DkimSigner,
    private readonly quota: ProvidedQuota,
    private readonly rateLimits: RateLimitService,
  ) {}

  async preview(auth: AuthContext, req: SendRequestParsed, uploads: Uploads): Promise<PreviewResult> {
    const { mail, recipients } = await this.prepare(auth, req, uploads);
    const keyStatus = await this.keys.status(auth.tenantId, recipients.all);
    let encryption: PreviewResult['encryption'] = 'none';
    let encryptionProblem: string | undefined;
    try {
      const plan = await this.encryption.plan(auth.tenantId, req.encryption, recipients.all);
      encryption = plan.encrypt && plan.method ? plan.method : 'none';
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      encryptionProblem = e.message;
    }
    return {
      keyStatus,
      encryption,
      ...(encryptionProblem ? { encryptionProblem } : {}),
      htmlBytes: mail.htmlBytes,
      clipped: mail.clipped,
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
    const outgoing = await this.protect(auth, req, prepared);
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
      encryption: outgoing.signed ? `${outgoing.encryption}+signed` : outgoing.encryption,
      smtpCode: null,
      messageId: null,
      errorCode: null,
      sizeBytes: outgoing.messages.reduce((n, m) => n + m.raw.length, 0),
      durationMs: null,
      createdAt: this.clock.now(),
      finishedAt: null,
    } satisfies SendEntity);

    const reservation = await this.ledger.reserve(row);
    if (!reservation.reserved) {
      this.logger.debug({ sendId: reservation.existing.id, status: reservation.existing.status }, 'idempotent replay');
      return this.replay(auth, reservation.existing, row.requestMac, prepared.recipients);
    }
    // Only a new send counts against the limits: a replay answers what the first request did, even at the limit.
    const limit = await this.rateLimits.consumeSend(auth.tenantId, auth.accountId).catch(async (e: unknown) => {
      await this.ledger.finish(row.id, { status: 'failed', errorCode: 'SERVICE_UNAVAILABLE', idempotencyKey: null, durationMs: Date.now() - started, finishedAt: this.clock.now() }).catch(() => undefined);
      throw e;
    });
    if (!limit.allowed) {
      await this.ledger.finish(row.id, { status: 'failed', errorCode: 'RATE_LIMITED', idempotencyKey: null, durationMs: Date.now() - started, finishedAt: this.clock.now() });
      this.logger.info({ sendId: row.id, limitedBy: limit.limitedBy, retryAfter: limit.retryAfterSeconds }, 'send refused by a rate limit');
      throw new DomainError('RATE_LIMITED', 429, rateLimitMessage(limit, this.rateLimits.sendLimits), { retryAfterSeconds: limit.retryAfterSeconds, limitedBy: limit.limitedBy });
    }
    this.logger.trace({ sendId: row.id, recipients: row.recipientCount, bytes: row.sizeBytes, parts: prepared.mail.parts.length }, 'mail composed; handing it to SMTP');

    // The provided relay's daily quota is counted after the idempotency check, so a replay is not counted twice.
    let hold: QuotaHold | null = null;
    if (prepared.settings.relay === 'provided') {
      try {
        hold = await this.quota.consume(auth.tenantId, prepared.recipients.all.length);
      } catch (e) {
        const errorCode = e instanceof DomainError ? e.code : 'INTERNAL_ERROR';
        await this.ledger.finish(row.id, { status: 'failed', errorCode, durationMs: Date.now() - started, finishedAt: this.clock.now(), idempotencyKey: null });
        throw e;
      }
    }
    const delivery = this.deliver(row, prepared, outgoing, started, hold);
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
    const pageId = auth.contentId ?? req.pageId ?? null;
    let spaceKey = auth.spaceKey ?? req.spaceKey ?? null;
    await this.permissions.assertMaySend(auth, spaceKey);
    const maxBytes = this.config.limits.maxMailBytes;

    let title = req.title;
    let html = req.html;
    let images = uploads.images;
    let pageUrl: string | null = null;
    if (html === undefined) {
      if (!pageId) throw new DomainError('VALIDATION_FAILED', 400, 'The request is not valid: give html and title, or the pageId of a Confluence page.');
      const page = await this.confluence.getPageForMail(auth, pageId, { maxBytes });
      if (page.spaceKey && page.spaceKey !== spaceKey) {
        spaceKey = page.spaceKey;
        await this.permissions.assertMaySend(auth, spaceKey);
      }
      html = page.html;
      pageUrl = page.pageUrl;
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
    const mail = await this.composer.compose({
      title,
      html,
      subjectPrefix: settings.subjectPrefix,
      from: settings.from,
      ...(settings.replyTo ? { replyTo: settings.replyTo } : {}),
      to: recipients.to,
      cc: recipients.cc,
      images,
      attachments,
      messageIdDomain: settings.messageIdDomain,
      pageUrl,
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

  /** Encrypts and/or signs per the site's policy and the sender's choice; each resulting message is checked against the size limit. */
  private async protect(auth: AuthContext, req: SendRequestParsed, p: Prepared): Promise<Outgoing> {
    const plan = await this.encryption.plan(auth.tenantId, req.encryption, p.recipients.all);
    const from = p.settings.envelopeFrom;
    if (!plan.method) return { messages: [this.dkimSigned(p, { copy: 'main', envelope: { from, to: p.recipients.all }, raw: p.mail.raw })], encryption: 'none', signed: false };
    const protectedMessages = await this.crypto.protect(p.mail.raw, {
      method: plan.method,
      encrypt: plan.encrypt,
      sign: plan.sign,
      envelopeFrom: from,
      to: p.recipients.to.map((m) => m.address),
      cc: p.recipients.cc.map((m) => m.address),
      bcc: p.recipients.bcc.map((m) => m.address),
      recipientKeys: plan.recipientKeys,
      signer: plan.signer,
      outerSubject: plan.outerSubject,
    });
    const messages = protectedMessages.map((m) => this.dkimSigned(p, m));
    const max = this.config.limits.maxMailBytes;
    const biggest = Math.max(...messages.map((m) => m.raw.length));
    if (biggest > max) {
      throw new DomainError('MAIL_TOO_LARGE', 413, `Encrypted, the mail would be ${(biggest / 1048576).toFixed(1)} MB, over the limit of ${(max / 1048576).toFixed(1)} MB; leave out some attachments.`, { size: biggest, limit: max });
    }
    return { messages, encryption: plan.encrypt ? plan.method : 'none', signed: plan.sign };
  }

  /**
   * Records the outcome; if the database is away, keeps trying in the background (about 15 s) instead of failing a
   * send whose fate is already decided. Tracked, so shutdown waits for it.
   */
  private async finishDurably(id: string, patch: Parameters<SendLedger['finish']>[1]): Promise<void> {
    try {
      await this.ledger.finish(id, patch);
    } catch {
      this.logger.warn({ sendId: id }, 'could not record the outcome of a send yet; retrying in the background');
      const retry = (async () => {
        for (let attempt = 1; attempt <= 5; attempt++) {
          await new Promise((r) => setTimeout(r, 1000 * attempt));
          try {
            await this.ledger.finish(id, patch);
            return;
          } catch {
            /* still away */
          }
        }
        this.logger.error({ sendId: id }, 'gave up recording the outcome of a send');
      })();
      this.track(retry);
    }
  }

  /** The provided relay's DKIM signature, over the final bytes of each copy (after any encryption). */
  private dkimSigned(p: Prepared, m: ProtectedMail): ProtectedMail {
    return p.settings.dkimSign ? { ...m, raw: this.dkim.sign(m.raw) } : m;
  }

  /**
   * Hands each message to SMTP in turn. A copy that fails after another went out does not fail the send: its
   * recipients are reported as rejected. Only when nothing went out is the send an error.
   */
  private async deliver(row: SendEntity, p: Prepared, out: Outgoing, started: number, hold: QuotaHold | null = null): Promise<SendResult> {
    const rejected = new Set<string>();
    let delivered = 0;
    let lastCode: number | null = null;
    let firstError: unknown = null;
    for (const m of out.messages) {
      try {
        const r = await this.smtp.send(p.settings.target, m.envelope, m.raw);
        delivered += 1;
        lastCode = r.code;
        for (const a of r.rejected) rejected.add(a.toLowerCase());
      } catch (e) {
        if (out.messages.length === 1 || (e instanceof DomainError && e.code === 'SMTP_OUTCOME_UNKNOWN' && delivered === 0)) {
          firstError = e;
          break;
        }
        firstError ??= e;
        for (const a of m.envelope.to) rejected.add(a.toLowerCase());
      }
    }
    if (delivered > 0) {
      const positions = p.recipients.all.flatMap((a, i) => (rejected.has(a.toLowerCase()) ? [i] : []));
      // The mail went out: a database hiccup now must not turn it into an error the sender would "fix" by sending again.
      await this.finishDurably(row.id, {
        status: 'sent',
        smtpCode: lastCode,
        messageId: p.mail.messageId,
        rejectedPositions: positions.length ? JSON.stringify(positions) : null,
        durationMs: Date.now() - started,
        finishedAt: this.clock.now(),
      });
      this.logger.info({ sendId: row.id, outcome: 'sent', smtpCode: lastCode, copies: delivered, rejected: positions.length, ms: Date.now() - started }, 'mail sent');
      return this.result(row.id, p.mail.messageId, p.recipients.all, positions, out.encryption);
    }
    const e = firstError;
    const code = e instanceof DomainError ? e.code : 'INTERNAL_ERROR';
    // Nothing went out: the recipients do not count against the relay's quota (unless the outcome is unknown).
    if (code !== 'SMTP_OUTCOME_UNKNOWN') await this.quota.release(hold);
    this.logger.info({ sendId: row.id, outcome: 'failed', code, ms: Date.now() - started }, 'mail not sent');
    const smtpCode = e instanceof DomainError && typeof e.details?.smtpCode === 'number' ? e.details.smtpCode : null;
    await this.finishDurably(row.id, {
      status: code === 'SMTP_OUTCOME_UNKNOWN' ? 'unknown' : 'failed',
      errorCode: code,
      smtpCode,
      durationMs: Date.now() - started,
      finishedAt: this.clock.now(),
      ...(NOTHING_SENT.has(code) ? { idempotencyKey: null } : {}),
    });
    throw e;
  }

  private result(sendId: string, messageId: string, all: string[], rejectedPositions: number[], encryption: SendResult['encryption']): SendResult {
    const rejected = new Set(rejectedPositions);
    return { sendId, messageId, accepted: all.filter((_, i) => !rejected.has(i)), rejected: all.filter((_, i) => rejected.has(i)), encryption };
  }

  private replay(auth: AuthContext, existing: SendEntity, mac: string | null, recipients: ResolvedRecipients): SendOutcome {
    if (existing.accountId !== auth.accountId || existing.requestMac !== mac) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 422, 'This Idempotency-Key was already used for a different request; use a new key for a new mail.');
    }
    if (existing.status === 'sending') return { status: 202, body: { sendId: existing.id, status: 'sending' } };
    if (existing.status === 'sent') {
      const positions: number[] = existing.rejectedPositions ? JSON.parse(existing.rejectedPositions) : [];
      const encryption = existing.encryption.split('+')[0] as SendResult['encryption'];
      return { status: 200, body: this.result(existing.id, existing.messageId!, recipients.all, positions, encryption) };
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
