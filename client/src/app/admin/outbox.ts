import { ChangeDetectionStrategy, Component, OnInit, computed, inject, signal } from '@angular/core';
import { DomSanitizer, type SafeHtml } from '@angular/platform-browser';
import type { ApiError } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { formatDateTime, formatSize } from '../shared/format';

/** GET /api/local/outbox (local mode): what the built-in mail catcher received. */
export interface OutboxEntry {
  id: string;
  receivedAt: string;
  envelope: { from: string; to: string[] };
  subject: string;
  size: number;
}

interface OpenedMail {
  id: string;
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string;
  html: SafeHtml | null;
  text: string | null;
  attachments: { name: string; type: string; size: number; inline: boolean }[];
  envelopeTo: string[];
}

type Addr = { name?: string; address?: string; group?: Addr[] };
const addresses = (list: Addr[] | Addr | undefined): string =>
  (Array.isArray(list) ? list : list ? [list] : [])
    .flatMap((a) => (a.group ? a.group : [a]))
    .map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '')))
    .join(', ');

/** Local mode: the mails the built-in catcher received, each opened as its recipient would see it. */
@Component({
  selector: 'mp-outbox',
  changeDetection: ChangeDetectionStrategy.OnPush,
  styles: `
    section {
      margin-top: var(--ds-space-200, 16px);
    }
    section dl {
      margin-bottom: var(--ds-space-150, 12px);
    }
    tr.open td {
      background: var(--ds-background-selected, #e9f2ff);
    }
    .linklike {
      background: none;
      border: 0;
      padding: 0;
      font: inherit;
      color: var(--ds-link, #0c66e4);
      text-decoration: underline;
      cursor: pointer;
      text-align: left;
    }
  `,
  template: `
    <p class="lead">Local mode keeps the last 50 mails the built-in mail catcher received, in memory only, until the service restarts.</p>
    <div class="actions">
      <button type="button" class="btn" (click)="load()" [disabled]="loading()">Refresh</button>
    </div>
    <div aria-live="polite">
      @if (error(); as e) {
        <div class="banner banner-error" role="alert"><p>{{ e.message }}</p></div>
      }
    </div>
    @if (entries().length) {
      <div class="table-wrap">
        <table class="data" data-outbox>
          <caption class="visually-hidden">Caught mails</caption>
          <thead>
            <tr><th scope="col">Received</th><th scope="col">Subject</th><th scope="col">Envelope recipients</th><th scope="col">Size</th></tr>
          </thead>
          <tbody>
            @for (m of entries(); track m.id) {
              <tr [class.open]="opened()?.id === m.id">
                <td>{{ when(m.receivedAt) }}</td>
                <td><button type="button" class="linklike" (click)="open(m)">{{ m.subject || '(no subject)' }}</button></td>
                <td>{{ m.envelope.to.join(', ') }}</td>
                <td>{{ size(m.size) }}</td>
              </tr>
            }
          </tbody>
        </table>
      </div>
    } @else if (!loading() && !error()) {
      <div class="empty">
        <strong>The outbox is empty.</strong>
        Send a page (the “Send” link at the top) and it will show up here.
      </div>
    }

    @if (opened(); as m) {
      <section class="section" aria-labelledby="outbox-mail-title" data-outbox-mail>
        <h3 id="outbox-mail-title">{{ m.subject || '(no subject)' }}</h3>
        <dl class="facts">
          <dt>From</dt><dd>{{ m.from }}</dd>
          <dt>To</dt><dd>{{ m.to || '—' }}</dd>
          @if (m.cc) {
            <dt>Cc</dt><dd>{{ m.cc }}</dd>
          }
          <dt>Envelope</dt><dd>{{ m.envelopeTo.join(', ') }}</dd>
          <dt>Date</dt><dd>{{ m.date }}</dd>
          @if (m.attachments.length) {
            <dt>Parts</dt>
            <dd>
              @for (a of m.attachments; track $index) {
                <span>{{ a.name }} ({{ a.type }}, {{ size(a.size) }}{{ a.inline ? ', inline' : '' }}){{ $last ? '' : '; ' }}</span>
              }
            </dd>
          }
        </dl>
        @if (m.html) {
          <iframe class="mail-frame" title="The caught mail" sandbox="" [srcdoc]="m.html"></iframe>
        } @else {
          <pre>{{ m.text }}</pre>
        }
      </section>
    }
  `,
})
export class Outbox implements OnInit {
  private readonly api = inject(ApiClient);
  private readonly sanitizer = inject(DomSanitizer);
  readonly list = signal<OutboxEntry[]>([]);
  readonly entries = computed(() => [...this.list()].sort((a, b) => b.receivedAt.localeCompare(a.receivedAt)));
  readonly loading = signal(false);
  readonly error = signal<ApiError | null>(null);
  readonly opened = signal<OpenedMail | null>(null);

  ngOnInit(): void {
    void this.load();
  }

  when(iso: string): string {
    return formatDateTime(iso);
  }

  size(n: number): string {
    return formatSize(n);
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      this.list.set(await this.api.get<OutboxEntry[]>('/api/local/outbox'));
    } catch (e) {
      this.error.set(asApiError(e));
    } finally {
      this.loading.set(false);
    }
  }

  async open(entry: OutboxEntry): Promise<void> {
    this.error.set(null);
    try {
      const [raw, { default: PostalMime }] = await Promise.all([this.api.bytes(`/api/local/outbox/${encodeURIComponent(entry.id)}`), import('postal-mime')]);
      const mail = await PostalMime.parse(raw, { attachmentEncoding: 'base64' });
      // Inline images are referenced as cid:; the sandboxed frame cannot fetch them, so they become data: URLs.
      const byCid = new Map(mail.attachments.filter((a) => a.contentId).map((a) => [a.contentId!.replace(/^<|>$/g, ''), `data:${a.mimeType};base64,${a.content as string}`]));
      const html = mail.html ? mail.html.replace(/cid:([^"'\s)]+)/g, (m, cid: string) => byCid.get(cid) ?? m) : null;
      this.opened.set({
        id: entry.id,
        subject: mail.subject ?? '',
        from: addresses(mail.from as Addr | undefined),
        to: addresses(mail.to as Addr[] | undefined),
        cc: addresses(mail.cc as Addr[] | undefined),
        date: mail.date ? formatDateTime(mail.date) : '—',
        // The mail as caught, in a frame with an empty sandbox: no scripts, no forms, an opaque origin.
        html: html ? this.sanitizer.bypassSecurityTrustHtml(html) : null,
        text: mail.text ?? null,
        attachments: mail.attachments.map((a) => ({
          name: a.filename ?? '(unnamed)',
          type: a.mimeType,
          size: typeof a.content === 'string' ? Math.floor((a.content.length * 3) / 4) : a.content.byteLength,
          inline: !!a.related || a.disposition === 'inline',
        })),
        envelopeTo: entry.envelope.to,
      });
    } catch (e) {
      this.error.set(asApiError(e));
    }
  }
}
