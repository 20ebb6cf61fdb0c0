import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { normaliseDomainEntry } from '@mailpage/contract';
import type { ApiError, RecipientPolicyInput, RecipientPolicyView } from '@mailpage/contract';
import { ApiClient, asApiError } from '../core/api';
import { ChipsInput } from '../shared/chips-input';
import { placeError } from '../shared/errors';

type Field = 'allowed' | 'blocked';

/** Which domains mail may go to: an allow-list (empty: any) and a block-list, checked before anything is sent. */
@Component({
  selector: 'mp-recipients-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ChipsInput],
  template: `
    @if (loadError(); as e) {
      <div class="banner banner-error" role="alert">
        <strong>The recipient rules could not be loaded.</strong>
        <p>{{ e.message }}</p>
        <button type="button" class="btn" (click)="load()">Try again</button>
      </div>
    } @else if (!loaded()) {
      <p class="hint" aria-live="polite">Loading the recipient rules…</p>
    } @else {
      <form (submit)="$event.preventDefault(); save()" novalidate data-recipient-rules>
        <fieldset class="section">
          <legend>Where mail may go</legend>
          <p class="hint">
            <code>example.com</code> is that domain only; <code>.example.com</code> (with a leading dot) is every subdomain of it, such as
            <code>mail.example.com</code>, but not <code>example.com</code> itself: list both for both. Internationalised domains may be typed as they
            are read (<code>bücher.example</code>).
          </p>
          <mp-chips-input
            label="Allowed domains"
            placeholder="Type a domain and press Enter"
            [hint]="allowed().length ? 'Mail may go only to addresses in these domains.' : 'No domains: mail may go to any domain that is not blocked.'"
            [error]="errors().allowed ?? null"
            [(values)]="allowed"
          />
          <mp-chips-input
            label="Blocked domains"
            placeholder="Type a domain and press Enter"
            hint="Mail never goes to these, even when an allowed entry matches too."
            [error]="errors().blocked ?? null"
            [(values)]="blocked"
          />
          <p class="hint">A send to an address outside these rules is refused, naming it, before anything is sent. Members of a group who are outside them are left out and listed. The user search in the send dialog does not offer people outside them.</p>
        </fieldset>
        <div class="actions">
          <button type="submit" class="btn btn-primary" [disabled]="busy()">{{ busy() ? 'Saving…' : 'Save' }}</button>
        </div>
        <div aria-live="polite">
          @if (formError(); as e) {
            <div class="banner banner-error" role="alert"><p>{{ e }}</p></div>
          }
          @if (notice(); as n) {
            <div class="banner banner-success" data-notice><p>{{ n }}</p></div>
          }
        </div>
      </form>
    }
  `,
})
export class RecipientsForm implements OnInit {
  private readonly api = inject(ApiClient);
  readonly allowed = signal<string[]>([]);
  readonly blocked = signal<string[]>([]);
  readonly loaded = signal(false);
  readonly loadError = signal<ApiError | null>(null);
  readonly busy = signal(false);
  readonly errors = signal<Partial<Record<Field, string>>>({});
  readonly formError = signal<string | null>(null);
  readonly notice = signal<string | null>(null);

  ngOnInit(): void {
    void this.load();
  }

  async load(): Promise<void> {
    this.loadError.set(null);
    try {
      this.apply(await this.api.get<RecipientPolicyView>('/api/settings/recipients'));
      this.loaded.set(true);
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  async save(): Promise<void> {
    if (this.busy()) return;
    this.formError.set(null);
    this.notice.set(null);
    // The same check the service makes, so a typo is named before the round trip.
    const local: Partial<Record<Field, string>> = {};
    for (const [field, list] of [['allowed', this.allowed()], ['blocked', this.blocked()]] as const) {
      const bad = list.filter((d) => !normaliseDomainEntry(d));
      if (bad.length) local[field] = `${bad.map((d) => `"${d}"`).join(', ')} ${bad.length === 1 ? 'is not a domain' : 'are not domains'} such as example.com or .example.com.`;
    }
    this.errors.set(local);
    if (Object.keys(local).length) return;
    this.busy.set(true);
    try {
      const body: RecipientPolicyInput = { allowedDomains: this.allowed(), blockedDomains: this.blocked() };
      this.apply(await this.api.put<RecipientPolicyView>('/api/settings/recipients', body));
      this.notice.set('Saved.');
    } catch (e) {
      const placed = placeError<Field>(asApiError(e), (p) => (p.startsWith('allowedDomains') ? 'allowed' : p.startsWith('blockedDomains') ? 'blocked' : null));
      this.errors.set(placed.fields);
      this.formError.set(placed.form);
    } finally {
      this.busy.set(false);
    }
  }

  private apply(v: RecipientPolicyView): void {
    this.allowed.set([...v.allowedDomains]);
    this.blocked.set([...v.blockedDomains]);
  }
}
