import { ChangeDetectionStrategy, Component, DestroyRef, computed, effect, inject, input, signal, untracked, viewChildren } from '@angular/core';
import { DomSanitizer, type SafeHtml } from '@angular/platform-browser';
import type {
  ApiError,
  EncryptionChoice,
  MeView,
  PageAttachment,
  PreviewResult,
  SendAccepted,
  SendRequest,
  SendResult,
  SendStatusView,
} from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { HOST } from '../core/host';
import { MyKeys } from '../keys/my-keys';
import { DEFAULT_MAIL_LIMIT, formatSize, newIdempotencyKey } from '../shared/format';
import { Tabs, type Tab } from '../shared/tabs';
import { AttachmentList } from './attachment-list';
import { RecipientPicker } from './recipient-picker';
import { toRecipientInput, type Recipient } from './recipients';
import { placeSendError } from './send-errors';

/**
 * The preview answer; key status and encryption come with services that know recipients' keys, and groups, parts and
 * Reply-To with services that expand groups, so these may be absent.
 */
export type PreviewAnswer = Omit<PreviewResult, 'keyStatus' | 'encryption' | 'groups' | 'skipped' | 'parts' | 'replyTo'> &
  Partial<Pick<PreviewResult, 'keyStatus' | 'encryption' | 'groups' | 'skipped' | 'parts' | 'replyTo'>>;

/** The send answer; parts, totals and skipped members come with services that split sends and expand groups. */
export type SentAnswer = Omit<SendResult, 'parts' | 'totals' | 'skipped'> & Partial<Pick<SendResult, 'parts' | 'totals' | 'skipped'>>;

type Outcome = { kind: 'sent'; result: SentAnswer } | { kind: 'sending'; sendId: string } | { kind: 'status'; view: SendStatusView };

const ENCRYPTION_OPTIONS: { value: EncryptionChoice; label: string }[] = [
  { value: 'auto', label: 'Automatic: as the site policy says' },
  { value: 'none', label: 'None' },
  { value: 'pgp', label: 'PGP/MIME' },
  { value: 'smime', label: 'S/MIME' },
];

export const POLL_INTERVAL_MS = 2000;

/** Addresses listed one by one up to this many; beyond it, their number. */
const LISTED_ADDRESSES = 20;

/** The contract's MAX_MESSAGE_LENGTH (its schemas stay on the server). */
const MAX_MESSAGE = 2000;

/** A grey box where an embedded image goes: the preview has no image bytes, and the page's CSP refuses cid: URLs. */
const IMAGE_PLACEHOLDER =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='160' height='90' viewBox='0 0 160 90'%3E%3Crect width='160' height='90' fill='%23dfe1e6'/%3E%3Cpath d='M55 65l18-22 13 15 9-10 13 17z' fill='%238590a2'/%3E%3Ccircle cx='100' cy='33' r='7' fill='%238590a2'/%3E%3C/svg%3E";

export function withImagePlaceholders(html: string): string {
  return html.replace(/(<img\b[^>]*?\bsrc\s*=\s*)(["'])cid:[^"']*\2/gi, `$1$2${IMAGE_PLACEHOLDER}$2`);
}

/** The send dialog: recipients, attachments, encryption, preview, send; and the user's own keys as a second tab. */
@Component({
  selector: 'mp-send-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RecipientPicker, AttachmentList, Tabs, MyKeys],
  styles: `
    .preview-head {
      display: flex;
      flex-wrap: wrap;
      justify-content: space-between;
      gap: var(--ds-space-100, 8px);
    }
    .keys td:not(:first-child),
    .keys th:not(:first-child) {
      text-align: center;
    }
    .recipients-group {
      margin-bottom: var(--ds-space-100, 8px);
    }
    .stack-sm > * + * {
      margin-top: var(--ds-space-150, 12px);
    }
    .status-none {
      color: var(--ds-text-subtle, #44546f);
    }
  `,
  template: `
    <div class="page">
      <h1>Send page as mail</h1>
      @if (pageLabel(); as label) {
        <p class="lead">{{ label }}</p>
      }

      <mp-tabs prefix="send" label="Send dialog" [tabs]="tabs" [(selected)]="tab" />

      <div role="tabpanel" id="send-panel-send" aria-labelledby="send-tab-send" [hidden]="tab() !== 'send'">
        @if (!page().pageId) {
          <div class="empty">
            <strong>No page chosen.</strong>
            @if (local) {
              Choose a page from the “Page” menu at the top to send it as mail.
            } @else {
              Open this dialog from a page's “•••” menu, “Send page as mail”.
            }
          </div>
        } @else if (me()?.canSend === false) {
          <div class="banner banner-warning" role="alert" data-cannot-send>
            <strong>You cannot send this page as mail.</strong>
            <p>{{ me()?.cannotSendReason ?? 'An admin has limited who may send pages as mail here.' }}</p>
            <p>Ask a Confluence admin to add you to one of the allowed groups, or ask someone who may send to send it for you.</p>
          </div>
        } @else {
          @if (meError(); as e) {
            <div class="banner banner-warning" role="alert">
              <p>{{ e.message }}</p>
            </div>
          }
          <form class="stack" (submit)="$event.preventDefault(); send()" novalidate>
            <fieldset class="recipients-group">
              <legend>Recipients</legend>
              <mp-recipient-picker label="To" hint="Type a name to find Confluence users and groups, or an email address. Enter or comma adds it. A group goes to all its members." [(recipients)]="to" [serverErrors]="placed().to" />
              <mp-recipient-picker label="Cc" [(recipients)]="cc" [serverErrors]="placed().cc" />
              <mp-recipient-picker label="Bcc" hint="Bcc recipients get the mail without the others seeing their address." [(recipients)]="bcc" [serverErrors]="placed().bcc" />
              @if (placed().recipients; as e) {
                <p class="field-error" role="alert">{{ e }}</p>
              }
            </fieldset>

            <div class="field">
              <label for="send-message">Personal message (optional)</label>
              <textarea
                id="send-message"
                rows="3"
                [attr.maxlength]="maxMessage"
                [value]="message()"
                (input)="message.set($any($event.target).value)"
                [attr.aria-invalid]="placed().message ? true : null"
                aria-describedby="send-message-hint"
                data-message
              ></textarea>
              <p class="hint" id="send-message-hint">Plain text, shown above the page in the mail. {{ maxMessage - message().length }} characters left.</p>
              @if (placed().message; as e) {
                <p class="field-error" role="alert">{{ e }}</p>
              }
            </div>

            <div class="check">
              <input type="checkbox" id="send-reply-to-me" [checked]="replyToMe()" (change)="replyToMe.set($any($event.target).checked)" aria-describedby="send-reply-to-me-hint" data-reply-to-me />
              <div>
                <label for="send-reply-to-me">Replies go to me</label>
                <p class="hint" id="send-reply-to-me-hint">Sets Reply-To to your Confluence email address, so answers reach you rather than the site's sender address.</p>
                @if (placed().replyToMe; as e) {
                  <p class="field-error" role="alert">{{ e }}</p>
                }
              </div>
            </div>

            <mp-attachment-list
              [attachments]="attachments()"
              [loadError]="attachmentsError()"
              [limit]="limit()"
              [canAddFiles]="canUpload"
              [serverError]="placed().attachments"
              [(selected)]="selectedIds"
              [(files)]="files"
            />

            <div class="field">
              <label for="send-encryption">Encryption</label>
              <select id="send-encryption" [value]="encryption()" (change)="encryption.set($any($event.target).value)" aria-describedby="send-encryption-hint">
                @for (o of encryptionOptions; track o.value) {
                  <option [value]="o.value" [selected]="o.value === encryption()">{{ o.label }}</option>
                }
              </select>
              <p class="hint" id="send-encryption-hint">Encrypted mail can only be read by recipients whose public key or certificate Mailpage knows. The preview shows who has one.</p>
              @if (preview()?.encryptionProblem; as problem) {
                <p class="field-error" role="alert" data-encryption-problem>{{ problem }}</p>
              }
            </div>

            <div class="actions">
              <button type="button" class="btn" (click)="showPreview()" [disabled]="previewing() || sending()">{{ previewing() ? 'Preparing preview…' : 'Preview' }}</button>
              <button type="submit" class="btn btn-primary" [disabled]="sending()" data-send>{{ sending() ? 'Sending…' : 'Send' }}</button>
              @if (close) {
                <button type="button" class="btn btn-subtle" (click)="close()">Close</button>
              }
            </div>
            @if (progress() !== null) {
              <div class="field">
                <label for="send-progress">Uploading files</label>
                <progress id="send-progress" max="100" [value]="(progress() ?? 0) * 100">{{ percent() }}</progress>
              </div>
            }

            <div aria-live="polite" data-result>
              @if (placed().form; as e) {
                <div class="banner banner-error" role="alert" data-form-error>
                  <strong>{{ previewFailed() ? 'The preview could not be made.' : 'The mail was not sent.' }}</strong>
                  <p>{{ e }}</p>
                </div>
              }
              @switch (outcome()?.kind) {
                @case ('sending') {
                  <div class="banner">
                    <strong>Sending…</strong>
                    <p>The mail server is taking a while. You can keep this open; the result will show here.</p>
                  </div>
                }
                @case ('sent') {
                  @if (sentResult(); as r) {
                    <div class="banner banner-success">
                      <strong>Sent{{ r.encryption !== 'none' ? ' (' + encryptionName(r.encryption) + ')' : '' }}.</strong>
                      @if (r.parts && r.parts.length > 1) {
                        <p data-parts>Sent as {{ r.parts.length }} mails, so that none has more recipients than one mail may have.</p>
                      }
                      @if (r.accepted.length) {
                        <p>Accepted: {{ addressList(r.accepted) }}</p>
                      }
                      @if (r.rejected.length) {
                        <p class="status-bad">Refused by the mail server: {{ addressList(r.rejected) }}</p>
                      }
                      @if (r.skipped && r.skipped.length) {
                        <div class="status-bad" data-skipped>
                          <p>Not sent to {{ r.skipped.length }} group {{ r.skipped.length === 1 ? 'member' : 'members' }}:</p>
                          <ul>
                            @for (k of r.skipped; track k.accountId + k.group) {
                              <li>{{ k.displayName }} ({{ k.group }}): {{ k.reason }}</li>
                            }
                          </ul>
                        </div>
                      }
                    </div>
                  }
                }
                @case ('status') {
                  @if (statusView(); as v) {
                    <div class="banner" [class.banner-success]="v.status === 'sent'" [class.banner-error]="v.status !== 'sent'">
                      <strong>{{ statusTitle(v) }}</strong>
                      <p>{{ statusText(v) }}</p>
                    </div>
                  }
                }
              }
            </div>
          </form>

          @if (preview(); as p) {
            <section class="section stack-sm" aria-labelledby="preview-title" data-preview>
              <div class="preview-head">
                <h2 id="preview-title">Preview</h2>
                <span class="hint">{{ size(p.size) }}{{ p.attachments.length ? ', ' + p.attachments.length + ' parts' : '' }}</span>
              </div>
              <dl class="facts">
                <dt>Subject</dt>
                <dd data-subject>{{ p.subject }}</dd>
                @if (p.encryption) {
                  <dt>Encryption</dt>
                  <dd data-encryption>{{ p.encryption === 'none' ? 'None: the mail goes unencrypted' : encryptionName(p.encryption) }}</dd>
                }
                @if (p.recipients.to.length) {
                  <dt>To</dt>
                  <dd>{{ addressList(p.recipients.to) }}</dd>
                }
                @if (p.recipients.cc.length) {
                  <dt>Cc</dt>
                  <dd>{{ addressList(p.recipients.cc) }}</dd>
                }
                @if (p.recipients.bcc.length) {
                  <dt>Bcc</dt>
                  <dd>{{ addressList(p.recipients.bcc) }}</dd>
                }
                @if (p.replyTo) {
                  <dt>Reply-To</dt>
                  <dd data-reply-to>{{ p.replyTo }}</dd>
                }
                @for (g of p.groups ?? []; track g.field + g.name) {
                  <dt>Group {{ g.name }}</dt>
                  <dd data-group>{{ g.members }} {{ g.members === 1 ? 'member' : 'members' }}{{ g.included !== g.members ? ', ' + g.included + ' get this mail' : '' }}</dd>
                }
                @if ((p.parts ?? 1) > 1) {
                  <dt>Mails</dt>
                  <dd data-parts>{{ p.parts }}: the recipients are more than one mail may hold, so each gets one of {{ p.parts }} copies</dd>
                }
              </dl>
              @if (p.skipped && p.skipped.length) {
                <div class="field-warning" data-skipped>
                  <p>{{ p.skipped.length }} group {{ p.skipped.length === 1 ? 'member' : 'members' }} will not get the mail:</p>
                  <ul>
                    @for (k of p.skipped; track k.accountId + k.group) {
                      <li>{{ k.displayName }} ({{ k.group }}): {{ k.reason }}</li>
                    }
                  </ul>
                </div>
              }
              @if (p.keyStatus?.length) {
                <div class="table-wrap">
                  <table class="data keys">
                    <caption class="visually-hidden">Who can receive encrypted mail</caption>
                    <thead>
                      <tr><th scope="col">Recipient</th><th scope="col">PGP key</th><th scope="col">S/MIME certificate</th></tr>
                    </thead>
                    <tbody>
                      @for (k of p.keyStatus; track k.address) {
                        <tr>
                          <td>{{ k.address }}</td>
                          <td [class]="k.pgp ? 'status-ok' : 'status-none'">{{ k.pgp ? 'Yes' : 'No' }}</td>
                          <td [class]="k.smime ? 'status-ok' : 'status-none'">{{ k.smime ? 'Yes' : 'No' }}</td>
                        </tr>
                      }
                    </tbody>
                  </table>
                </div>
                @if (p.encryption === undefined && missingKeys().length && encryption() !== 'none') {
                  <p class="field-warning">No key for {{ missingKeys().join(', ') }}: {{ encryption() === 'auto' ? 'depending on the site policy, the mail goes unencrypted or is refused.' : 'the mail cannot be encrypted for them.' }}</p>
                }
              } @else if (p.keyStatus) {
                <p class="hint">No recipient has a key Mailpage knows.</p>
              }
              <iframe class="mail-frame" title="Preview of the mail" sandbox="" [srcdoc]="previewHtml()"></iframe>
            </section>
          }
        }
      </div>

      <div role="tabpanel" id="send-panel-keys" aria-labelledby="send-tab-keys" [hidden]="tab() !== 'keys'">
        @if (tab() === 'keys') {
          <mp-my-keys [standalone]="false" />
        }
      </div>
    </div>
  `,
})
export class SendPage {
  /** From the address in local mode (`#/send?pageId=&spaceKey=`); in Confluence the page comes from the context. */
  readonly pageId = input<string>();
  readonly spaceKey = input<string>();

  private readonly host = inject(HOST);
  private readonly api = inject(ApiClient);
  private readonly sanitizer = inject(DomSanitizer);
  private destroyed = false;

  readonly local = this.host.mode === 'local';
  readonly canUpload = this.api.canUpload;
  readonly close = this.host.close;
  readonly encryptionOptions = ENCRYPTION_OPTIONS;
  readonly tabs: Tab[] = [
    { id: 'send', label: 'Send page' },
    { id: 'keys', label: 'My keys' },
  ];
  readonly tab = signal('send');

  readonly page = computed(() => {
    const c = this.host.confluence;
    return { pageId: c?.contentId ?? this.pageId() ?? null, spaceKey: c?.spaceKey ?? this.spaceKey() ?? null };
  });
  readonly pageLabel = computed(() => {
    const { pageId, spaceKey } = this.page();
    if (!pageId) return null;
    const spaces = this.host.local?.session()?.spaces ?? [];
    for (const s of spaces) {
      const p = s.pages.find((x) => x.id === pageId);
      if (p) return `“${p.title}” from space ${s.name}`;
    }
    // In Confluence the dialog opens over the page itself: no need to name it.
    return this.local && spaceKey ? `Page ${pageId} in space ${spaceKey}` : null;
  });

  readonly me = signal<MeView | null>(null);
  readonly meError = signal<ApiError | null>(null);
  readonly attachments = signal<PageAttachment[] | null>(null);
  readonly attachmentsError = signal<string | null>(null);

  readonly to = signal<Recipient[]>([]);
  readonly cc = signal<Recipient[]>([]);
  readonly bcc = signal<Recipient[]>([]);
  readonly selectedIds = signal<string[]>([]);
  readonly files = signal<File[]>([]);
  readonly encryption = signal<EncryptionChoice>('auto');
  readonly message = signal('');
  readonly replyToMe = signal(false);
  readonly maxMessage = MAX_MESSAGE;
  readonly limit = signal(DEFAULT_MAIL_LIMIT);

  readonly preview = signal<PreviewAnswer | null>(null);
  readonly previewing = signal(false);
  readonly sending = signal(false);
  readonly progress = signal<number | null>(null);
  readonly outcome = signal<Outcome | null>(null);
  readonly error = signal<ApiError | null>(null);
  readonly previewFailed = signal(false);
  readonly placed = computed(() => placeSendError(this.error()));

  readonly previewHtml = computed<SafeHtml>(() =>
    // The HTML is the composed mail, shown in an iframe with an empty sandbox: no scripts, no forms, an opaque origin.
    this.sanitizer.bypassSecurityTrustHtml(withImagePlaceholders(this.preview()?.html ?? '')),
  );
  readonly missingKeys = computed(() => {
    const ks = this.preview()?.keyStatus ?? [];
    const e = this.encryption();
    return ks.filter((k) => (e === 'pgp' ? !k.pgp : e === 'smime' ? !k.smime : !k.pgp && !k.smime)).map((k) => k.address);
  });
  readonly sentResult = computed(() => {
    const o = this.outcome();
    return o?.kind === 'sent' ? o.result : null;
  });
  readonly statusView = computed(() => {
    const o = this.outcome();
    return o?.kind === 'status' ? o.view : null;
  });
  readonly percent = computed(() => `${Math.round((this.progress() ?? 0) * 100)}%`);

  /** The request as it stands; the idempotency key belongs to one state of it. */
  readonly request = computed<SendRequest>(() => {
    const { pageId, spaceKey } = this.page();
    return {
      ...(pageId ? { pageId } : {}),
      ...(spaceKey ? { spaceKey } : {}),
      to: this.to().map(toRecipientInput),
      cc: this.cc().map(toRecipientInput),
      bcc: this.bcc().map(toRecipientInput),
      attachmentIds: this.selectedIds(),
      encryption: this.encryption(),
      ...(this.message().trim() ? { message: this.message() } : {}),
      ...(this.replyToMe() ? { replyToMe: true } : {}),
    };
  });
  private keyed = { state: '', key: '' };
  private readonly pickers = viewChildren(RecipientPicker);

  constructor() {
    inject(DestroyRef).onDestroy(() => (this.destroyed = true));
    effect(() => {
      const { pageId, spaceKey } = this.page();
      untracked(() => void this.loadPage(pageId, spaceKey));
    });
    // A new limit named by the service stays for the dialog.
    effect(() => {
      const limit = this.placed().limit;
      if (limit) untracked(() => this.limit.set(limit));
    });
  }

  size(bytes: number): string {
    return formatSize(bytes);
  }

  addressList(list: string[]): string {
    return list.length > LISTED_ADDRESSES ? `${list.slice(0, LISTED_ADDRESSES).join(', ')} and ${list.length - LISTED_ADDRESSES} more` : list.join(', ');
  }

  encryptionName(e: string): string {
    return e === 'pgp' ? 'PGP-encrypted' : e === 'smime' ? 'S/MIME-encrypted' : e;
  }

  statusTitle(v: SendStatusView): string {
    if (v.status === 'sent') return 'Sent.';
    if (v.status === 'unknown') return 'It is not known whether the mail went out.';
    return 'The mail was not sent.';
  }

  statusText(v: SendStatusView): string {
    if (v.status === 'sent') {
      const accepted = v.acceptedCount ?? v.recipientCount;
      const rejected = v.rejectedCount ?? 0;
      return `${accepted} of ${v.recipientCount} recipients accepted${rejected ? `, ${rejected} refused by the mail server` : ''}.`;
    }
    if (v.status === 'unknown') return 'The connection to the mail server broke after the mail was handed over. Ask a recipient whether it arrived before sending again.';
    return `The mail server refused it${v.errorCode ? ` (${v.errorCode})` : ''}. Nothing was delivered; check the mail settings or try again.`;
  }

  private async loadPage(pageId: string | null, spaceKey: string | null): Promise<void> {
    this.me.set(null);
    this.meError.set(null);
    this.attachments.set(null);
    this.attachmentsError.set(null);
    this.selectedIds.set([]);
    this.preview.set(null);
    this.outcome.set(null);
    this.error.set(null);
    if (!pageId) return;
    const me = this.api
      .get<MeView>('/api/me', { spaceKey })
      .then((m) => this.me.set(m))
      .catch((e: unknown) => this.meError.set(asApiError(e)));
    const atts = this.api
      .get<PageAttachment[]>(`/api/pages/${encodeURIComponent(pageId)}/attachments`)
      .then((list) => this.attachments.set(list))
      .catch((e: unknown) => this.attachmentsError.set(`The page's attachments could not be listed: ${asApiError(e).message}`));
    await Promise.all([me, atts]);
  }

  /** Text left in a recipient box that is not an address stops the send, and says why next to it. */
  private pendingTextProblem(): boolean {
    let blocked = false;
    for (const p of this.pickers()) {
      if (!p.text().trim()) continue;
      p.commit(false);
      if (p.text().trim()) blocked = true;
    }
    return blocked;
  }

  private idempotencyKey(): string {
    const state = JSON.stringify([this.request(), this.files().map((f) => [f.name, f.size, f.lastModified])]);
    if (this.keyed.state !== state) this.keyed = { state, key: newIdempotencyKey() };
    return this.keyed.key;
  }

  private multipart(req: SendRequest): FormData {
    const form = new FormData();
    for (const [k, v] of Object.entries(req)) {
      if (v === undefined) continue;
      form.append(k, Array.isArray(v) ? JSON.stringify(v) : String(v));
    }
    for (const f of this.files()) form.append('attachments', f, f.name);
    return form;
  }

  async showPreview(): Promise<void> {
    if (this.previewing() || this.pendingTextProblem()) return;
    this.previewing.set(true);
    this.error.set(null);
    this.previewFailed.set(false);
    try {
      const req = this.request();
      const p = this.files().length
        ? await this.api.upload<PreviewAnswer>('/api/mail/preview', this.multipart(req))
        : await this.api.post<PreviewAnswer>('/api/mail/preview', req);
      this.preview.set(p);
    } catch (e) {
      this.previewFailed.set(true);
      this.fail(e);
    } finally {
      this.previewing.set(false);
    }
  }

  async send(): Promise<void> {
    if (this.sending() || this.pendingTextProblem()) return;
    const req = this.request();
    const key = this.idempotencyKey();
    this.sending.set(true);
    this.error.set(null);
    this.previewFailed.set(false);
    this.outcome.set(null);
    try {
      const answer = this.files().length
        ? await this.api.upload<SentAnswer | SendAccepted>('/api/mail/send', this.multipart(req), {
            headers: { 'Idempotency-Key': key },
            onProgress: (f) => this.progress.set(f),
          })
        : await this.api.post<SentAnswer | SendAccepted>('/api/mail/send', req, { 'Idempotency-Key': key });
      if ('status' in answer && answer.status === 'sending') {
        this.outcome.set({ kind: 'sending', sendId: answer.sendId });
        this.progress.set(null);
        const views: SendStatusView[] = [];
        for (const id of answer.sendIds ?? [answer.sendId]) {
          const view = await this.poll(id);
          if (!view) return;
          views.push(view);
        }
        this.outcome.set({ kind: 'status', view: combinedStatus(views) });
      } else {
        this.outcome.set({ kind: 'sent', result: answer as SentAnswer });
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.sending.set(false);
      this.progress.set(null);
    }
  }

  /** A send that outlasts the platform's 25 s answered 202: ask for its status until it is no longer "sending". */
  private async poll(sendId: string): Promise<SendStatusView | null> {
    for (;;) {
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      if (this.destroyed) return null;
      const view = await this.api.get<SendStatusView>(`/api/mail/sends/${encodeURIComponent(sendId)}`);
      if (view.status !== 'sending') return view;
    }
  }

  private fail(e: unknown): void {
    const err = asApiError(e);
    this.error.set(err);
    if (err.code === 'FORBIDDEN') this.me.update((m) => (m ? { ...m, canSend: false, cannotSendReason: err.message } : m));
  }
}

/** One status for the mails of a split send: sent if any went out (with the counts of all), else the first's outcome. */
export function combinedStatus(views: SendStatusView[]): SendStatusView {
  if (views.length === 1) return views[0];
  const sent = views.filter((v) => v.status === 'sent');
  const base = sent[0] ?? views.find((v) => v.status === 'unknown') ?? views[0];
  const sum = (f: (v: SendStatusView) => number) => views.reduce((n, v) => n + f(v), 0);
  return {
    ...base,
    recipientCount: sum((v) => v.recipientCount),
    acceptedCount: sent.length ? sum((v) => v.acceptedCount ?? 0) : null,
    rejectedCount: sent.length ? sum((v) => (v.status === 'sent' ? (v.rejectedCount ?? 0) : v.recipientCount)) : null,
  };
}
