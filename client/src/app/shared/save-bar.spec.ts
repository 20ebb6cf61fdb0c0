import { ChangeDetectionStrategy, Component, signal } from '@angular/core';
import { TestBed, type ComponentFixture } from '@angular/core/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { texts } from '../../testing/fakes';
import { SaveActions, SaveOutcome } from './save-bar';

@Component({
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [SaveActions, SaveOutcome],
  template: `
    <form (submit)="$event.preventDefault(); submits.set(submits() + 1)">
      <div mpSaveActions [busy]="busy()"></div>
      <div mpSaveOutcome [error]="error()" [notice]="notice()" [markNotice]="mark()"></div>
    </form>
  `,
})
class Host {
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly notice = signal<string | null>(null);
  readonly mark = signal(false);
  readonly submits = signal(0);
}

@Component({
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [SaveActions],
  template: `<form><div mpSaveActions [busy]="false" label="Save sender"></div></form>`,
})
class LabelledHost {}

describe('the end of a settings form', () => {
  let fixture: ComponentFixture<Host>;
  const el = () => fixture.nativeElement as HTMLElement;
  const button = () => el().querySelector<HTMLButtonElement>('form > div.actions > button[type="submit"]')!;
  const outcome = () => el().querySelector<HTMLElement>('form > div[aria-live="polite"]')!;

  beforeEach(async () => {
    fixture = TestBed.createComponent(Host);
    await fixture.whenStable();
  });

  it('has a primary submit button in the actions row, right inside the form, that submits it', () => {
    expect(button().className).toBe('btn btn-primary');
    expect(button().textContent).toBe('Save');
    expect(button().disabled).toBe(false);
    button().click();
    expect(fixture.componentInstance.submits()).toBe(1);
  });

  it('says "Saving…" and takes no second click while busy', async () => {
    fixture.componentInstance.busy.set(true);
    await fixture.whenStable();
    expect(button().textContent).toBe('Saving…');
    expect(button().disabled).toBe(true);
  });

  it('names the button as the form asks', async () => {
    const labelled = TestBed.createComponent(LabelledHost);
    await labelled.whenStable();
    expect((labelled.nativeElement as HTMLElement).querySelector('.actions button')!.textContent).toBe('Save sender');
  });

  it('announces the form error as an alert and the notice as a success, in a polite live region', async () => {
    expect(outcome().children).toHaveLength(0);
    fixture.componentInstance.error.set('The service could not be reached.');
    await fixture.whenStable();
    expect(outcome().querySelector('.banner.banner-error')!.getAttribute('role')).toBe('alert');
    expect(texts(outcome(), '.banner-error > p')).toEqual(['The service could not be reached.']);

    fixture.componentInstance.error.set(null);
    fixture.componentInstance.notice.set('Saved.');
    await fixture.whenStable();
    expect(outcome().querySelector('.banner-error')).toBeNull();
    expect(texts(outcome(), '.banner.banner-success > p')).toEqual(['Saved.']);
    expect(outcome().querySelector('.banner-success')!.hasAttribute('data-notice')).toBe(false);
  });

  it('marks the notice with data-notice where the form asks for it', async () => {
    fixture.componentInstance.notice.set('Saved.');
    fixture.componentInstance.mark.set(true);
    await fixture.whenStable();
    expect(outcome().querySelector('.banner-success')!.getAttribute('data-notice')).toBe('');
  });
});
