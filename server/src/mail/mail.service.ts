import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { parseMailbox, type Mailbox, type PreviewResult, type SendAccepted, type SendPart, type SendRequestParsed, type SendResult, type SendStatusView } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../config/config.module';
import { ComposeService, type ComposedMail, type MailFile, type MessageHeaders, type RenderedMail } from '../compose/compose.service';
import { ConfluenceClient } from '../confluence/confluence.client';
import { MailCryptoService, type ProtectedMail } from '../crypto/mail-crypto.service';
import { SendEntity } from '../database/entities';
import { EncryptionService, type ProtectionPlan } from '../keys/encryption.service';
import { KeysService } from '../keys/keys.service';
import { MailLayoutService } from '../layout/layout.service';
import { MetricsService } from '../metrics/metrics.service';
import { PermissionsService } from '../permissions/permissions.service';
import { RecipientPolicyService } from '../recipients/recipient-policy.service';
import { SecretBox } from '../secrets/secret-box';
import { ProvidedQuota, type QuotaHold } from '../settings/provided-quota.service';
import { DkimSigner } from './dkim';
import { MailSettingsService, type ResolvedMailSettings } from '../settings/mail-settings.service';
import { MAX_PARTS, resolveRecipients, splitRecipients, type GroupMember, type ResolvedRecipients, type SendRecipients } from './recipients';
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

/**
 * Failures that would befall every mail of a split send alike (the server, the login, the sender, the content): the
 * parts not yet tried are not tried. A part whose recipients were refused does not stop the others.
 */
const STOPS_SPLIT_SEND = new Set([...NOTHING_SENT, 'SMTP_OUTCOME_UNKNOWN', 'SMTP_FAILED', 'INTERNAL_ERROR']);
STOPS_SPLIT_SEND.delete('SMTP_RECIPIENT_REJECTED');

/** Group members whose hidden address is asked of Confluence at once. */
const EMAIL_LOOKUPS_AT_ONCE = 5;

interface Prepared {
  settings: ResolvedMailSettings;
  recipients: SendRecipients;
  /** The recipients of each mail: one part unless a group made the send larger than one mail may be. */
  parts: ResolvedRecipients[];
  /** The body every part shares, and the headers but To and Cc. */
  rendered: RenderedMail;
  headers: Omit<MessageHeaders, 'to' | 'cc'>;
  /** The first part's message, made at once: the preview shows it, and its size is checked before anything is stored. */
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
    private readonly layouts: MailLayoutService,
    private readonly recipientPolicy: RecipientPolicyService,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  async preview(auth: AuthContext, req: SendRequestParsed, uploads: Uploads): Promise<PreviewResult> {
    const { mail, recipients, parts, headers } = await this.prepare(auth, req, uploads);
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
      groups: recipients.groups,
      skipped: recipients.skipped,
      parts: parts.length,
      replyTo: headers.replyTo?.address ?? null,
    };
  }

  async send(auth: AuthContext, req: SendRequestParsed, uploads: Uploads, idempotencyKey: string | null): Promise<SendOutcome> {
    const started = Date.now();
    let prepared: Prepared;
    try {
      prepared = await this.prepare(auth, req, uploads);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'FORBIDDEN') {
        await this.auditRefusal(auth, req, started);
        this.metrics?.sendRefused(e);
      }
      throw e;
    }
    const plan = await this.encryption.plan(auth.tenantId, req.encryption, prepared.recipients.all);
    const first = await this.protect(plan, prepared, 0, prepared.mail);
    const requestMac = idempotencyKey ? this.requestMac(auth, req, uploads) : null;
    const rows = prepared.parts.map((part, i) =>
      Object.assign(new SendEntity(), {
        id: randomUUID(),
        tenantId: auth.tenantId,
        accountId: auth.accountId,
        idempotencyKey: idempotencyKey && partKey(idempotencyKey, i),
        requestMac,
        status: 'sending',
        pageId: prepared.pageId,
        spaceKey: prepared.spaceKey,
        recipientCount: part.all.length,
        rejectedPositions: null,
        encryption: first.signed ? `${first.encryption}+signed` : first.encryption,
        smtpCode: null,
        messageId: null,
        errorCode: null,
        // A later part is made when it is sent; its own size is recorded then.
        sizeBytes: i === 0 ? first.messages.reduce((n, m) => n + m.raw.length, 0) : null,
        durationMs: null,
        createdAt: this.clock.now(),
        finishedAt: null,
      } satisfies SendEntity),
    );
    const row = rows[0];

    const reservation = await this.ledger.reserve(row);
    if (!reservation.reserved) {
      this.logger.debug({ sendId: reservation.existing.id, status: reservation.existing.status }, 'idempotent replay');
      return this.replay(auth, reservation.existing, requestMac, prepared, idempotencyKey!);
    }
    await this.reserveLaterParts(rows, started);
    // Only a new send counts against the limits: a replay answers what the first request did, even at the limit.
    const limit = await this.rateLimits.consumeSend(auth.tenantId, auth.accountId).catch(async (e: unknown) => {
      await this.failAll(rows, { status: 'failed', errorCode: 'SERVICE_UNAVAILABLE', idempotencyKey: null, durationMs: Date.now() - started, finishedAt: this.clock.now() }).catch(() => undefined);
      throw e;
    });
    if (!limit.allowed) {
      await this.failAll(rows, { status: 'failed', errorCode: 'RATE_LIMITED', idempotencyKey: null, durationMs: Date.now() - started, finishedAt: this.clock.now() });
      this.logger.info({ sendId: row.id, limitedBy: limit.limitedBy, retryAfter: limit.retryAfterSeconds }, 'send refused by a rate limit');
      this.metrics?.sendRefused('RATE_LIMITED');
      throw new DomainError('RATE_LIMITED', 429, rateLimitMessage(limit, this.rateLimits.sendLimits), { retryAfterSeconds: limit.retryAfterSeconds, limitedBy: limit.limitedBy });
    }
    this.logger.trace({ sendId: row.id, recipients: prepared.recipients.all.length, parts: rows.length, bytes: row.sizeBytes, files: prepared.mail.parts.length }, 'mail composed; handing it to SMTP');

    // The provided relay's daily quota is counted after the idempotency check, so a replay is not counted twice.
    let hold: QuotaHold | null = null;
    if (prepared.settings.relay === 'provided') {
      try {
        hold = await this.quota.consume(auth.tenantId, prepared.recipients.all.length);
      } catch (e) {
        const errorCode = e instanceof DomainError ? e.code : 'INTERNAL_ERROR';
        await this.failAll(rows, { status: 'failed', errorCode, durationMs: Date.now() - started, finishedAt: this.clock.now(), idempotencyKey: null });
        this.metrics?.sendRefused(e);
        throw e;
      }
    }
    const delivery = this.deliverAll(rows, prepared, plan, first, started, hold);
    this.track(delivery);
    // One send is one count, however many mails it was split into.
    this.metrics?.sendDelivering(delivery, started);
    const timeout = this.config.sendSyncTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), timeout)));
    try {
      const done = await Promise.race([delivery, slow]);
      if (done === 'slow') return { status: 202, body: accepted(rows) };
      return { status: 200, body: done };
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
   * Everything before SMTP: permission, page, attachments, recipients (groups expanded, the site's domain rules
   * applied), settings with the space's overrides, the layout, the composed body and the first mail. Any failure here
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

    const maxRecipients = this.config.limits.maxRecipients;
    const recipients = await resolveRecipients(
      req,
      maxRecipients,
      {
        account: async (accountId, where) => {
          const email = await this.confluence.resolveEmail(auth, accountId);
          if (!email) {
            throw new DomainError('VALIDATION_FAILED', 400, `${where}: this Confluence user hides their email address and the app may not read it; add their address by hand.`, { recipients: [`${where} hides their email address`] });
          }
          const parsed = parseMailbox(email);
          if (!parsed.ok) throw new DomainError('VALIDATION_FAILED', 400, `${where}: Confluence gave an address for this user that is not valid.`);
          return parsed.mailbox;
        },
        group: (name, where, max) => this.groupMembers(auth, name, where, max),
      },
      await this.recipientPolicy.rules(auth.tenantId),
    );
    const [settings, layout] = await Promise.all([this.settings.resolve(auth.tenantId), this.layouts.forCompose(auth.tenantId)]);
    const space = await this.layouts.spaceOverrides(auth.tenantId, spaceKey, layout.allowSpaceOverrides);
    const me = req.replyToMe || layout.footerTemplate.includes('{sender}') ? await this.sender(auth, req.replyToMe) : null;
    // Reply-To: the sender (when asked), else the space's, else the site's (the provided relay's is the site address).
    let replyTo: Mailbox | null = settings.replyTo;
    if (space?.replyTo) replyTo = { address: space.replyTo };
    if (req.replyToMe && me?.mailbox) replyTo = me.mailbox;
    const from: Mailbox = space?.senderName ? { ...settings.from, name: space.senderName } : settings.from;
    const headers: Prepared['headers'] = { from, ...(replyTo ? { replyTo } : {}), messageIdDomain: settings.messageIdDomain, maxBytes };
    const rendered = await this.composer.render({
      title,
      html,
      subjectPrefix: space?.subjectPrefix ?? settings.subjectPrefix,
      ...headers,
      to: recipients.to,
      cc: recipients.cc,
      images,
      attachments,
      pageUrl,
      layout,
      message: req.message ?? null,
      senderName: me?.displayName ?? '',
      spaceKey,
    });
    const parts = splitRecipients(recipients, maxRecipients);
    const mail = await this.composer.build(rendered, { ...headers, to: parts[0].to, cc: parts[0].cc });
    return { settings, recipients, parts, rendered, headers, mail, pageId, spaceKey };
  }

  /** The group's members with an address each, as the sender sees them; a hidden address is asked as the app. */
  private async groupMembers(auth: AuthContext, name: string, where: string, max: number): Promise<GroupMember[]> {
    const group = await this.confluence.findGroup(auth, name);
    if (!group) {
      throw new DomainError('VALIDATION_FAILED', 400, `${where}: there is no Confluence group "${name.slice(0, 80)}", or you may not see it.`, { recipients: [`${where} there is no Confluence group "${name.slice(0, 80)}"`] });
    }
    const users = await this.confluence.groupMembers(auth, group.id, max);
    const members: GroupMember[] = new Array(users.length);
    const one = async (i: number) => {
      const u = users[i];
      const email = u.email ?? (await this.confluence.appEmail(auth, u.accountId));
      const parsed = email ? parseMailbox(email) : null;
      members[i] = parsed?.ok
        ? { accountId: u.accountId, displayName: u.displayName, mailbox: parsed.mailbox }
        : {
            accountId: u.accountId,
            displayName: u.displayName,
            mailbox: null,
            reason: email ? 'Confluence gave an address for this user that is not valid' : 'hides their email address, and Confluence does not let the app read it',
          };
    };
    for (let i = 0; i < users.length; i += EMAIL_LOOKUPS_AT_ONCE) await Promise.all(users.slice(i, i + EMAIL_LOOKUPS_AT_ONCE).map((_, j) => one(i + j)));
    return members;
  }

  /** The sender's name and address in Confluence (the local admin token has neither). */
  private async sender(auth: AuthContext, needAddress: boolean): Promise<{ displayName: string; mailbox: Mailbox | null }> {
    let displayName = auth.accountId;
    let email: string | null = null;
    try {
      const me = await this.confluence.getUser(auth, auth.accountId);
      displayName = me.displayName;
      email = me.email ?? (needAddress ? await this.confluence.appEmail(auth, auth.accountId) : null);
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'NOT_FOUND')) throw e;
    }
    const parsed = email ? parseMailbox(email) : null;
    if (needAddress && !parsed?.ok) {
      throw new DomainError('VALIDATION_FAILED', 400, 'Reply-To me needs your email address, and Confluence does not share it with Mailpage; turn Reply-To me off.', {
        issues: [{ path: 'replyToMe', message: 'Confluence does not share your email address with Mailpage' }],
      });
    }
    return { displayName, mailbox: parsed?.ok ? { name: displayName, address: parsed.mailbox.address } : null };
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

  /** The later parts of a split send take their own rows and keys; if that fails, no part goes out. */
  private async reserveLaterParts(rows: SendEntity[], started: number): Promise<void> {
    const reserved = [rows[0]];
    const undo = async (errorCode: 'IDEMPOTENCY_KEY_REUSED' | 'SERVICE_UNAVAILABLE') =>
      this.failAll(reserved, { status: 'failed', errorCode, idempotencyKey: null, durationMs: Date.now() - started, finishedAt: this.clock.now() }).catch(() => undefined);
    for (const row of rows.slice(1)) {
      let r: Awaited<ReturnType<SendLedger['reserve']>>;
      try {
        r = await this.ledger.reserve(row);
      } catch (e) {
        await undo('SERVICE_UNAVAILABLE');
        throw e;
      }
      if (!r.reserved) {
        await undo('IDEMPOTENCY_KEY_REUSED');
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', 422, 'This Idempotency-Key was already used for a different request; use a new key for a new mail.');
      }
      reserved.push(row);
    }
  }

  private async failAll(rows: SendEntity[], patch: Parameters<SendLedger['finish']>[1]): Promise<void> {
    for (const row of rows) await this.ledger.finish(row.id, patch);
  }

  /** Encrypts and/or signs one part per the plan; each resulting message is checked against the size limit. */
  private async protect(plan: ProtectionPlan, p: Prepared, index: number, mail: ComposedMail): Promise<Outgoing> {
    const part = p.parts[index];
    const from = p.settings.envelopeFrom;
    if (!plan.method) return { messages: [this.dkimSigned(p, { copy: 'main', envelope: { from, to: part.all }, raw: mail.raw })], encryption: 'none', signed: false };
    const protectedMessages = await this.crypto.protect(mail.raw, {
      method: plan.method,
      encrypt: plan.encrypt,
      sign: plan.sign,
      envelopeFrom: from,
      to: part.to.map((m) => m.address),
      cc: part.cc.map((m) => m.address),
      bcc: part.bcc.map((m) => m.address),
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
   * Sends each part in turn, making the later ones as it goes. When nothing at all went out the send fails as one
   * mail would (and the parts not tried fail with it); once a part went out, a later part's failure only puts its
   * recipients among the rejected ones.
   */
  private async deliverAll(rows: SendEntity[], p: Prepared, plan: ProtectionPlan, first: Outgoing, started: number, hold: QuotaHold | null): Promise<SendResult> {
    const single = rows.length === 1;
    const parts: SendPart[] = [];
    let firstError: unknown = null;
    const failed = (row: SendEntity, i: number, e: unknown, messageId: string | null): SendPart => {
      const code = errorCodeOf(e);
      return { sendId: row.id, messageId, accepted: [], rejected: p.parts[i].all, status: code === 'SMTP_OUTCOME_UNKNOWN' ? 'unknown' : 'failed', errorCode: code };
    };
    for (const [i, row] of rows.entries()) {
      if (firstError !== null && STOPS_SPLIT_SEND.has(errorCodeOf(firstError))) {
        // What failed would fail this part too: it is not tried.
        await this.finishDurably(row.id, { status: 'failed', errorCode: errorCodeOf(firstError), durationMs: Date.now() - started, finishedAt: this.clock.now() });
        parts.push(failed(row, i, firstError, null));
        continue;
      }
      let out: Outgoing;
      let mail: ComposedMail;
      try {
        mail = i === 0 ? p.mail : await this.composer.build(p.rendered, { ...p.headers, to: p.parts[i].to, cc: p.parts[i].cc });
        out = i === 0 ? first : await this.protect(plan, p, i, mail);
      } catch (e) {
        await this.finishDurably(row.id, { status: 'failed', errorCode: errorCodeOf(e), durationMs: Date.now() - started, finishedAt: this.clock.now() });
        firstError ??= e;
        parts.push(failed(row, i, e, null));
        continue;
      }
      try {
        parts.push(await this.deliver(row, p, i, out, mail.messageId, started, single));
      } catch (e) {
        // Nothing went out: the recipients do not count against the relay's quota (unless the outcome is unknown).
        if (single && errorCodeOf(e) !== 'SMTP_OUTCOME_UNKNOWN') await this.quota.release(hold);
        if (single) throw e;
        firstError ??= e;
        parts.push(failed(row, i, e, mail.messageId));
      }
    }
    if (!parts.some((part) => part.status === 'sent')) {
      // No part went out: as for one mail, the send is an error, and a retry with the same key may try again.
      const unknown = parts.some((part) => part.status === 'unknown');
      if (!unknown) await this.quota.release(hold);
      if (!unknown && NOTHING_SENT.has(errorCodeOf(firstError))) {
        for (const part of parts) await this.finishDurably(part.sendId, { idempotencyKey: null });
      }
      throw firstError;
    }
    return this.result(p, parts, first.encryption);
  }

  /**
   * Hands one part's messages to SMTP in turn. A copy that fails after another went out does not fail the part: its
   * recipients are reported as rejected. Only when nothing of the part went out is it an error (recorded, then thrown).
   */
  private async deliver(row: SendEntity, p: Prepared, index: number, out: Outgoing, messageId: string, started: number, releaseKey: boolean): Promise<SendPart> {
    const all = p.parts[index].all;
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
    const sizeBytes = index === 0 ? {} : { sizeBytes: out.messages.reduce((n, m) => n + m.raw.length, 0) };
    if (delivered > 0) {
      const positions = all.flatMap((a, i) => (rejected.has(a.toLowerCase()) ? [i] : []));
      // The mail went out: a database hiccup now must not turn it into an error the sender would "fix" by sending again.
      await this.finishDurably(row.id, {
        status: 'sent',
        smtpCode: lastCode,
        messageId,
        rejectedPositions: positions.length ? JSON.stringify(positions) : null,
        ...sizeBytes,
        durationMs: Date.now() - started,
        finishedAt: this.clock.now(),
      });
      this.logger.info({ sendId: row.id, outcome: 'sent', smtpCode: lastCode, copies: delivered, rejected: positions.length, ms: Date.now() - started }, 'mail sent');
      return partResult(row.id, messageId, all, positions);
    }
    const e = firstError;
    const code = errorCodeOf(e);
    this.logger.info({ sendId: row.id, outcome: 'failed', code, ms: Date.now() - started }, 'mail not sent');
    const smtpCode = e instanceof DomainError && typeof e.details?.smtpCode === 'number' ? e.details.smtpCode : null;
    await this.finishDurably(row.id, {
      status: code === 'SMTP_OUTCOME_UNKNOWN' ? 'unknown' : 'failed',
      errorCode: code,
      smtpCode,
      ...sizeBytes,
      durationMs: Date.now() - started,
      finishedAt: this.clock.now(),
      ...(releaseKey && NOTHING_SENT.has(code) ? { idempotencyKey: null } : {}),
    });
    throw e;
  }

  private result(p: Prepared, parts: SendPart[], encryption: SendResult['encryption']): SendResult {
    const accepted = parts.flatMap((x) => x.accepted);
    const rejected = parts.flatMap((x) => x.rejected);
    const skipped = p.recipients.skipped;
    return {
      sendId: parts[0].sendId,
      messageId: parts[0].messageId ?? '',
      accepted,
      rejected,
      encryption,
      parts,
      totals: { parts: parts.length, recipients: p.recipients.all.length, accepted: accepted.length, rejected: rejected.length, skipped: skipped.length },
      skipped,
    };
  }

  /** Answers a retried request from the rows of the first one (every part of a split send), never sending again. */
  private async replay(auth: AuthContext, existing: SendEntity, mac: string | null, p: Prepared, key: string): Promise<SendOutcome> {
    if (existing.accountId !== auth.accountId || existing.requestMac !== mac) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 422, 'This Idempotency-Key was already used for a different request; use a new key for a new mail.');
    }
    const later = await this.ledger.findByKeys(auth.tenantId, Array.from({ length: MAX_PARTS - 1 }, (_, i) => partKey(key, i + 1)));
    const rows = [existing, ...later.sort((a, b) => partIndex(a.idempotencyKey) - partIndex(b.idempotencyKey))];
    if (rows.some((r) => r.status === 'sending')) return { status: 202, body: accepted(rows) };
    if (rows.some((r) => r.status === 'sent')) {
      const encryption = existing.encryption.split('+')[0] as SendResult['encryption'];
      const parts = rows.map((r, i): SendPart => {
        const all = p.parts[i]?.all ?? [];
        if (r.status === 'sent') return partResult(r.id, r.messageId!, all, r.rejectedPositions ? (JSON.parse(r.rejectedPositions) as number[]) : []);
        return { sendId: r.id, messageId: r.messageId, accepted: [], rejected: all, status: r.status === 'unknown' ? 'unknown' : 'failed', errorCode: r.errorCode ?? 'INTERNAL_ERROR' };
      });
      return { status: 200, body: this.result(p, parts, encryption) };
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

/**
 * The idempotency key of part `index`: the request's own key for the first part (so a send of one mail keeps it),
 * then a key derived from it. `#` is not allowed in a client's key, so a derived key cannot be one.
 */
export function partKey(key: string, index: number): string {
  return index === 0 ? key : `#${index}-${createHash('sha256').update(key).digest('base64url').slice(0, 43)}`;
}

function partIndex(key: string | null): number {
  return Number(/^#(\d+)-/.exec(key ?? '')?.[1] ?? 0);
}

function partResult(sendId: string, messageId: string, all: string[], rejectedPositions: number[]): SendPart {
  const rejected = new Set(rejectedPositions);
  return { sendId, messageId, accepted: all.filter((_, i) => !rejected.has(i)), rejected: all.filter((_, i) => rejected.has(i)), status: 'sent' };
}

function accepted(rows: SendEntity[]): SendAccepted {
  return { sendId: rows[0].id, status: 'sending', ...(rows.length > 1 ? { sendIds: rows.map((r) => r.id) } : {}) };
}

function errorCodeOf(e: unknown): string {
  return e instanceof DomainError ? e.code : 'INTERNAL_ERROR';
}
