import { ChangeDetectionStrategy, Component, computed, inject } from '@angular/core';
import { RouterOutlet } from '@angular/router';
import { HOST } from './core/host';
import { LocalBar } from './local/local-bar';

@Component({
  selector: 'mp-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterOutlet, LocalBar],
  template: `
    @if (local) {
      <mp-local-bar />
    }
    <main>
      <!-- Acting as another demo user starts every page afresh, as reopening the dialog in Confluence would. -->
      @for (who of [actingAs()]; track who) {
        <router-outlet />
      }
    </main>
  `,
})
export class App {
  private readonly host = inject(HOST);
  readonly local = this.host.mode === 'local';
  readonly actingAs = computed(() => this.host.local?.session()?.accountId ?? 'confluence');
}
