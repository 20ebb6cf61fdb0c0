import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import type { ApiError, AuditEntry, AuditPage } from '@mailpage/contract';
import { ApiClient, asApiError, type Query } from '../core/api';
import { formatDateTime } from '../shared/format';

const PAGE_SIZE = 50;

/** Metadata of every send, newest first: who, when, where, how many recipients, the outcome. Never content. */
@Component({
  selector: 'mp-audit-log',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule],
  styles: `
    .filters {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
      gap: 0 var(--ds-space-150, 12px);
      align-items: end;
    }
    .filters .actions {
      margin-top: 0;
      margin-bottom: var(--ds-space-200, 16px);
    }
    td.num {
      text-align: right;
      font-variant-numeric: tabular-nums;
    }
  `,
  template: `
    <form class="filters" [formGroup]="filters" (ngSubmit)="search()" aria-label="Filter the audit log">
      <div class="field">
        <label for="audit-space">Space key</label>
        <input id="audit-space" type="text" formControlName="spaceKey" spellcheck="false" />
      </div>
      <div class="field">
        <label for="audit-outcome">Outcome</label>
        <select id="audit-outcome" formControlName="outcome">
          <option value="">Any</option>
          <option value="sent">Sent</option>
          <option value="failed">Failed</option>
          <option value="sending">Sending</option>
          <option value="unknown">Unknown</option>
        </select>
      </div>
      <div class="field">
        <label for="audit-from">From</label>
        <input id="audit-from" type="date" formControlName="from" />
      </div>
      <div class="field">
        <label for="audit-to">To</label>
        <input id="audit-to" type="date" formControlName="to" />
      </div>
      <div class="actions">
        <button type="submit" class="btn" [disabled]="loading()">Apply filters</button>
      </div>
    </form>

    <div aria-live="polite">
      @if (error(); as e) {
        <div class="banner banner-error" role="alert">
          <strong>The audit log could not be loaded.</strong>
          <p>{{ e.message }}</p>
        </div>
      }
    </div>

    @if (entries().length) {
      <div class="table-wrap">
        <table class="data" data-audit>
          <caption class="visually-hidden">Sends, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">User</th>
              <th scope="col">Space</th>
              <th scope="col">Page</th>
              <th scope="col">Recipients</th>
              <th scope="col">Encryption</th>
              <th scope="col">Outcome</th>
              <th scope="col">SMTP reply</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            @for (e of entries(); track e.id) {
              <tr>
                <td>{{ when(e.createdAt) }}</td>
                <td class="mono">{{ e.accountId }}</td>
                <td>{{ e.spaceKey ?? '—' }}</td>
                <td class="mono">{{ e.pageId ?? '—' }}</td>
                <td class="num">{{ e.recipientCount }}</td>
                <td>{{ e.encryption }}</td>
                <td [class]="e.outcome === 'sent' ? 'status-ok' : e.outcome === 'failed' ? 'status-bad' : ''">{{ e.outcome }}{{ e.errorCode ? ' (' + e.errorCode + ')' : '' }}</td>
                <td class="num">{{ e.smtpCode ?? '—' }}</td>
                <td class="num">{{ duration(e) }}</td>
              </tr>
            }
          </tbody>
        </table>
      </div>
    } @else if (!loading() && !error()) {
      <div class="empty">
        <strong>{{ filtered() ? 'No sends match these filters.' : 'Nothing sent yet.' }}</strong>
        {{ filtered() ? 'Clear a filter or widen the dates.' : 'Each page sent as mail will be listed here, without its content.' }}
      </div>
    }

    <div class="actions">
      @if (nextCursor()) {
        <button type="button" class="btn" (click)="older()" [disabled]="loading()">Older entries</button>
      }
      @if (loading()) {
        <span class="hint" aria-live="polite">Loading…</span>
      }
    </div>
  `,
})
export class AuditLog implements OnInit {
  private readonly api = inject(ApiClient);
  readonly filters = inject(FormBuilder).nonNullable.group({ spaceKey: '', outcome: '', from: '', to: '' });
  readonly entries = signal<AuditEntry[]>([]);
  readonly nextCursor = signal<string | null>(null);
  readonly loading = signal(false);
  readonly error = signal<ApiError | null>(null);
  readonly filtered = signal(false);
  private applied: Query = {};

  ngOnInit(): void {
    void this.search();
  }

  when(iso: string): string {
    return formatDateTime(iso);
  }

  duration(e: AuditEntry): string {
    return e.durationMs === null ? '—' : e.durationMs < 1000 ? `${e.durationMs} ms` : `${(e.durationMs / 1000).toFixed(1)} s`;
  }

  async search(): Promise<void> {
    const f = this.filters.getRawValue();
    // Dates are whole days in the admin's time zone: from its first to its last millisecond.
    this.applied = {
      spaceKey: f.spaceKey.trim() || undefined,
      outcome: f.outcome || undefined,
      from: f.from ? new Date(`${f.from}T00:00:00`).toISOString() : undefined,
      to: f.to ? new Date(`${f.to}T23:59:59.999`).toISOString() : undefined,
    };
    this.filtered.set(Object.values(this.applied).some((v) => v !== undefined));
    await this.fetch(null);
  }

  async older(): Promise<void> {
    await this.fetch(this.nextCursor());
  }

  private async fetch(cursor: string | null): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const page = await this.api.get<AuditPage>('/api/audit', { ...this.applied, limit: PAGE_SIZE, cursor });
      this.entries.update((list) => (cursor ? [...list, ...page.entries] : page.entries));
      this.nextCursor.set(page.nextCursor);
    } catch (e) {
      this.error.set(asApiError(e));
    } finally {
      this.loading.set(false);
    }
  }
}
