import { ChangeDetectionStrategy, Component, OnInit, inject, signal } from '@angular/core';
import { normaliseDomainEntry } from '@mailpage/contract';
import type { RecipientPolicyInput, RecipientPolicyView } from '@mailpage/contract';
import { ApiClient } from '../core/api';
import { ChipsInput } from '../shared/chips-input';
import { LoadState } from '../shared/load-state';
import { SaveActions, SaveOutcome } from '../shared/save-bar';
import { SettingsResource } from '../shared/settings-resource';

type Field = 'allowed' | 'blocked';

/** Which domains mail may go to: an allow-list (empty: any) and a block-list, checked before anything is sent. */
@Component({
  selector: 'mp-recipients-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ChipsInput, LoadState, SaveActions, SaveOutcome],
  template: `
    <mp-load-state failure="The recipient rules could not be loaded." loading="Loading the recipient rules…" [error]="settings.loadError()" [loaded]="settings.loaded()" (retry)="load()">
      <ng-template>
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
              [error]="settings.errors().allowed ?? null"
              [(values)]="allowed"
            />
            <mp-chips-input
              label="Blocked domains"
              placeholder="Type a domain and press Enter"
              hint="Mail never goes to these, even when an allowed entry matches too."
              [error]="settings.errors().blocked ?? null"
              [(values)]="blocked"
            />
            <p class="hint">A send to an address outside these rules is refused, naming it, before anything is sent. Members of a group who are outside them are left out and listed. The user search in the send dialog does not offer people outside them.</p>
          </fieldset>
          <div mpSaveActions [busy]="settings.busy()"></div>
          <div mpSaveOutcome [error]="settings.formError()" [notice]="settings.notice()" [markNotice]="true"></div>
        </form>
      </ng-template>
    </mp-load-state>
  `,
})
export class RecipientsForm implements OnInit {
  private readonly api = inject(ApiClient);
  readonly allowed = signal<string[]>([]);
  readonly blocked = signal<string[]>([]);
  readonly settings = new SettingsResource<RecipientPolicyView, Field>();

  ngOnInit(): void {
    void this.load();
  }

  load(): Promise<void> {
    return this.settings.load(() => this.api.get<RecipientPolicyView>('/api/settings/recipients'), (v) => this.apply(v));
  }

  save(): Promise<void> {
    return this.settings.save(
      () => {
        const body: RecipientPolicyInput = { allowedDomains: this.allowed(), blockedDomains: this.blocked() };
        return this.api.put<RecipientPolicyView>('/api/settings/recipients', body);
      },
      (v) => this.apply(v),
      (p) => (p.startsWith('allowedDomains') ? 'allowed' : p.startsWith('blockedDomains') ? 'blocked' : null),
      () => this.checkDomains(),
    );
  }

  /** The same check the service makes, so a typo is named before the round trip. */
  private checkDomains(): boolean {
    const local: Partial<Record<Field, string>> = {};
    for (const [field, list] of [['allowed', this.allowed()], ['blocked', this.blocked()]] as const) {
      const bad = list.filter((d) => !normaliseDomainEntry(d));
      if (bad.length) local[field] = `${bad.map((d) => `"${d}"`).join(', ')} ${bad.length === 1 ? 'is not a domain' : 'are not domains'} such as example.com or .example.com.`;
    }
    this.settings.errors.set(local);
    return !Object.keys(local).length;
  }

  private apply(v: RecipientPolicyView): void {
    this.allowed.set([...v.allowedDomains]);
    this.blocked.set([...v.blockedDomains]);
  }
}
