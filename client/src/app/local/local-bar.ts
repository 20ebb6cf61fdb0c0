import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { ActivatedRoute, Router, RouterLink, RouterLinkActive } from '@angular/router';
import { map } from 'rxjs';
import { asApiError } from '../core/api';
import { HOST } from '../core/host';

/**
 * Local mode only: plays the parts Confluence plays. Pick the demo user to act as (alice, bob, the site admin...)
 * and the page to send; the links stand in for Confluence's menus.
 */
@Component({
  selector: 'mp-local-bar',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, RouterLinkActive],
  styles: `
    :host {
      display: block;
      background: var(--ds-surface-sunken, #f7f8f9);
      border-bottom: 1px solid var(--ds-border, #091e4224);
    }
    .bar {
      max-width: 960px;
      margin: 0 auto;
      padding: var(--ds-space-100, 8px) var(--ds-space-300, 24px);
      display: flex;
      flex-wrap: wrap;
      gap: var(--ds-space-100, 8px) var(--ds-space-300, 24px);
      align-items: center;
    }
    .brand {
      font-weight: 600;
      margin-right: auto;
    }
    .brand small {
      font-weight: 400;
      color: var(--ds-text-subtle, #44546f);
      margin-left: var(--ds-space-050, 4px);
    }
    .pick {
      display: flex;
      align-items: center;
      gap: var(--ds-space-075, 6px);
    }
    .pick label {
      font-size: 12px;
      font-weight: 600;
      color: var(--ds-text-subtle, #44546f);
      white-space: nowrap;
    }
    .pick select {
      width: auto;
      min-height: 32px;
      padding: 2px var(--ds-space-075, 6px);
    }
    nav ul {
      list-style: none;
      margin: 0;
      padding: 0;
      display: flex;
      gap: var(--ds-space-050, 4px);
      flex-wrap: wrap;
    }
    nav a {
      display: inline-block;
      padding: var(--ds-space-050, 4px) var(--ds-space-100, 8px);
      border-radius: var(--ds-border-radius, 3px);
      color: var(--ds-text-subtle, #44546f);
      text-decoration: none;
      font-weight: 500;
    }
    nav a:hover {
      background: var(--ds-background-neutral-subtle-hovered, #091e420f);
      color: var(--ds-text, #172b4d);
    }
    nav a.active {
      color: var(--ds-text-selected, #0c66e4);
      background: var(--ds-background-selected, #e9f2ff);
    }
    .error {
      flex-basis: 100%;
      margin: 0;
    }
  `,
  template: `
    <header class="bar">
      <div class="brand">Mailpage <small>local mode</small></div>
      @if (session(); as s) {
        <div class="pick">
          <label for="local-user">Acting as</label>
          <select id="local-user" [value]="s.accountId" (change)="switchUser($any($event.target).value)" [disabled]="switching()" data-acting-as>
            @for (u of s.users; track u.accountId) {
              <option [value]="u.accountId" [selected]="u.accountId === s.accountId">{{ u.displayName }}{{ u.siteAdmin ? ' (site admin)' : '' }}</option>
            }
          </select>
        </div>
        <div class="pick">
          <label for="local-page">Page</label>
          <select id="local-page" (change)="pickPage($any($event.target).value)" data-page-picker>
            <option value="" [selected]="!currentPage()">Choose a page…</option>
            @for (space of s.spaces; track space.key) {
              <optgroup [label]="space.name + ' (' + space.key + ')'">
                @for (p of space.pages; track p.id) {
                  <option [value]="space.key + '/' + p.id" [selected]="currentPage() === space.key + '/' + p.id">{{ p.title }}</option>
                }
              </optgroup>
            }
          </select>
        </div>
      }
      <nav aria-label="Mailpage">
        <ul>
          <li><a [routerLink]="['/send']" [queryParams]="sendParams()" routerLinkActive="active" ariaCurrentWhenActive="page">Send</a></li>
          <li><a routerLink="/admin" routerLinkActive="active" ariaCurrentWhenActive="page">Settings</a></li>
          @if (spaceKey(); as key) {
            <li><a [routerLink]="['/space', key]" routerLinkActive="active" ariaCurrentWhenActive="page">Space {{ key }}</a></li>
          }
          <li><a routerLink="/keys" routerLinkActive="active" ariaCurrentWhenActive="page">My keys</a></li>
        </ul>
      </nav>
      @if (error(); as e) {
        <p class="banner banner-error error" role="alert">{{ e }}</p>
      }
    </header>
  `,
})
export class LocalBar {
  private readonly host = inject(HOST);
  private readonly router = inject(Router);
  readonly session = this.host.local!.session;
  readonly switching = signal(false);
  readonly error = signal<string | null>(this.host.startError?.message ?? null);
  private readonly query = toSignal(inject(ActivatedRoute).queryParamMap.pipe(map((q) => ({ pageId: q.get('pageId'), spaceKey: q.get('spaceKey') }))), {
    initialValue: { pageId: null, spaceKey: null },
  });
  readonly currentPage = computed(() => {
    const q = this.query();
    return q.pageId && q.spaceKey ? `${q.spaceKey}/${q.pageId}` : '';
  });
  /** The space of the chosen page, else the first demo space: where the "Space" link goes. */
  readonly spaceKey = computed(() => this.query().spaceKey ?? this.session()?.spaces[0]?.key ?? null);
  readonly sendParams = computed(() => {
    const q = this.query();
    return q.pageId ? { pageId: q.pageId, spaceKey: q.spaceKey } : {};
  });

  async switchUser(accountId: string): Promise<void> {
    this.switching.set(true);
    this.error.set(null);
    try {
      await this.host.local!.switchTo(accountId);
    } catch (e) {
      this.error.set(`Could not switch user: ${asApiError(e).message}`);
    } finally {
      this.switching.set(false);
    }
  }

  pickPage(value: string): void {
    if (!value) return;
    const [spaceKey, pageId] = value.split('/');
    void this.router.navigate(['/send'], { queryParams: { pageId, spaceKey } });
  }
}
