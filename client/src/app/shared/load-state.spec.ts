import { ChangeDetectionStrategy, Component, signal } from '@angular/core';
import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { ApiError } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { LoadState } from './load-state';

@Component({
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [LoadState],
  template: `
    <mp-load-state failure="The rules could not be loaded." [loading]="loading()" [error]="error()" [loaded]="loaded()" (retry)="retries.set(retries() + 1)">
      <ng-template>
        <form data-rules>{{ made() }}</form>
      </ng-template>
    </mp-load-state>
  `,
})
class Host {
  readonly error = signal<ApiError | null>(null);
  readonly loaded = signal(false);
  readonly loading = signal<string | null>('Loading the rules…');
  readonly retries = signal(0);
  creations = 0;

  made(): string {
    this.creations++;
    return 'the form';
  }
}

describe('the load state around a settings form', () => {
  let fixture: ComponentFixture<Host>;
  const el = () => fixture.nativeElement as HTMLElement;
  const host = () => fixture.componentInstance;

  beforeEach(async () => {
    fixture = TestBed.createComponent(Host);
    await fixture.whenStable();
  });

  it('says it is loading, politely, without creating the form', () => {
    const hint = el().querySelector('mp-load-state > p.hint')!;
    expect(hint.getAttribute('aria-live')).toBe('polite');
    expect(hint.textContent!.trim()).toBe('Loading the rules…');
    expect(el().querySelector('form')).toBeNull();
    expect(host().creations).toBe(0);
  });

  it('shows nothing while loading when it has no loading text', async () => {
    host().loading.set(null);
    await fixture.whenStable();
    expect(el().querySelector('mp-load-state')!.children).toHaveLength(0);
  });

  it('names a failed load in an alert with the reason and "Try again", which asks for a retry', async () => {
    host().error.set({ code: 'FORBIDDEN', message: 'Only site admins can see this.' });
    await fixture.whenStable();
    const banner = el().querySelector('mp-load-state > .banner.banner-error')!;
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.querySelector('strong')!.textContent).toBe('The rules could not be loaded.');
    expect(banner.querySelector('p')!.textContent).toBe('Only site admins can see this.');
    expect(el().querySelector('p.hint')).toBeNull();
    const retry = banner.querySelector<HTMLButtonElement>('button.btn')!;
    expect(retry.type).toBe('button');
    expect(retry.textContent).toBe('Try again');
    retry.click();
    expect(host().retries()).toBe(1);
  });

  it('shows the form once loaded, in place of the hint', async () => {
    host().loaded.set(true);
    await fixture.whenStable();
    expect(el().querySelector('mp-load-state > form[data-rules]')!.textContent).toBe('the form');
    expect(el().querySelector('p.hint')).toBeNull();
    expect(el().querySelector('.banner')).toBeNull();
  });

  it('shows the load error rather than a form loaded before', async () => {
    host().loaded.set(true);
    host().error.set({ code: 'INTERNAL_ERROR', message: 'Down.' });
    await fixture.whenStable();
    expect(el().querySelector('form')).toBeNull();
    expect(el().querySelector('.banner-error p')!.textContent).toBe('Down.');
  });
});
