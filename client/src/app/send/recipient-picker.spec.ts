import { Component, signal } from '@angular/core';
import { TestBed, type ComponentFixture } from '@angular/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeApi, fakeProviders, key, texts, type } from '../../testing/fakes';
import { RecipientPicker, SUGGEST_DEBOUNCE_MS } from './recipient-picker';
import { toRecipientInput, type Recipient } from './recipients';

@Component({
  imports: [RecipientPicker],
  template: `<mp-recipient-picker label="To" [(recipients)]="to" [serverErrors]="errors()" />`,
})
class Host {
  readonly to = signal<Recipient[]>([]);
  readonly errors = signal<string[]>([]);
}

describe('recipient picker', () => {
  let api: FakeApi;
  let fixture: ComponentFixture<Host>;
  let input: HTMLInputElement;
  const el = () => fixture.nativeElement as HTMLElement;
  const chips = () => texts(el(), 'li.chip .chip-text');

  async function render() {
    TestBed.configureTestingModule({ imports: [Host], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(Host);
    await fixture.whenStable();
    input = el().querySelector('input[role="combobox"]')!;
  }

  async function typeAndKey(text: string, k?: string) {
    type(input, text);
    if (k) key(input, k);
    await fixture.whenStable();
  }

  beforeEach(() => {
    api = new FakeApi().on('GET', '/api/recipients', []);
  });
  afterEach(() => vi.useRealTimers());

  it('makes a chip of a typed address on Enter, and empties the box', async () => {
    await render();
    await typeAndKey('Ann Lee <ann@Example.COM>', 'Enter');
    expect(chips()).toEqual(['Ann Lee <ann@example.com>']);
    expect(input.value).toBe('');
    expect(fixture.componentInstance.to().map(toRecipientInput)).toEqual(['"Ann Lee" <ann@example.com>']);
  });

  it('adds the address on a comma, but not on a comma inside a quoted name', async () => {
    await render();
    await typeAndKey('"Lee, Ann" <ann@example.com', ',');
    expect(chips()).toEqual([]);
    await typeAndKey('"Lee, Ann" <ann@example.com>', ',');
    await typeAndKey('bob@example.org', ',');
    expect(chips()).toEqual(['Lee, Ann <ann@example.com>', 'bob@example.org']);
  });

  it('shows why a typed address is not valid as it is typed, and keeps the text when Enter is pressed', async () => {
    await render();
    await typeAndKey('root@localhost');
    expect(texts(el(), '.field-warning').join(' ')).toContain('has a domain "localhost" that is not a valid host name');
    key(input, 'Enter');
    await fixture.whenStable();
    expect(chips()).toEqual([]);
    expect(input.value).toBe('root@localhost');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    const error = el().querySelector('.field-error')!;
    expect(error.textContent).toContain('"root@localhost" has a domain "localhost" that is not a valid host name');
    expect(input.getAttribute('aria-describedby')).toContain(error.id);
  });

  it('refuses two addresses in one go with the reason', async () => {
    await render();
    await typeAndKey('a@example.com b@example.com', 'Enter');
    expect(chips()).toEqual([]);
    expect(texts(el(), '.field-error').join(' ')).toMatch(/exactly one address/);
  });

  it('removes the last chip with Backspace in the empty box, and any chip with its remove button', async () => {
    await render();
    for (const a of ['a@example.com', 'b@example.com', 'c@example.com']) await typeAndKey(a, 'Enter');
    expect(chips()).toHaveLength(3);
    type(input, '');
    const e = key(input, 'Backspace');
    await fixture.whenStable();
    expect(e.defaultPrevented).toBe(true);
    expect(chips()).toEqual(['a@example.com', 'b@example.com']);

    const remove = el().querySelector<HTMLButtonElement>('button[aria-label="Remove a@example.com from To"]')!;
    expect(remove).toBeTruthy();
    remove.focus();
    remove.click();
    await fixture.whenStable();
    expect(chips()).toEqual(['b@example.com']);
    expect(document.activeElement).toBe(input);
    expect(texts(el(), '[aria-live="polite"]').join(' ')).toContain('Removed a@example.com from To.');
  });

  it('does not remove a chip on Backspace while there is text', async () => {
    await render();
    await typeAndKey('a@example.com', 'Enter');
    type(input, 'x');
    key(input, 'Backspace');
    await fixture.whenStable();
    expect(chips()).toEqual(['a@example.com']);
  });

  it('asks for suggestions only after 300 ms of quiet, and shows name and email or "email hidden"', async () => {
    api.on('GET', '/api/recipients', [
      { accountId: 'alice', displayName: 'Alice Writer', email: 'alice@example.com' },
      { accountId: 'carol', displayName: 'Carol Hidden', email: null },
    ]);
    await render();
    // Only the debounce runs on fake time; rendering is driven by hand (detectChanges).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    input.focus();
    type(input, 'a');
    await vi.advanceTimersByTimeAsync(100);
    type(input, 'al');
    await vi.advanceTimersByTimeAsync(SUGGEST_DEBOUNCE_MS - 10);
    expect(api.callsTo('GET', '/api/recipients')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(20);
    fixture.detectChanges();
    expect(api.callsTo('GET', '/api/recipients').map((c) => c.path)).toEqual(['/api/recipients?query=al']);

    const options = texts(el(), '[role="option"]');
    expect(options).toEqual(['Alice Writer, alice@example.com', 'Carol Hidden, email hidden']);
    expect(input.getAttribute('aria-expanded')).toBe('true');

    key(input, 'ArrowDown');
    key(input, 'ArrowDown');
    fixture.detectChanges();
    expect(input.getAttribute('aria-activedescendant')).toBe(el().querySelectorAll('[role="option"]')[1].id);
    key(input, 'Enter');
    fixture.detectChanges();
    expect(chips()).toEqual(['Carol Hidden email hidden']);
    expect(fixture.componentInstance.to().map(toRecipientInput)).toEqual([{ accountId: 'carol' }]);
    expect(input.value).toBe('');
  });

  it('does not search for a single letter', async () => {
    await render();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    type(input, 'a');
    await vi.advanceTimersByTimeAsync(SUGGEST_DEBOUNCE_MS * 2);
    expect(api.callsTo('GET', '/api/recipients')).toHaveLength(0);
  });

  it('shows the service sentence next to the field', async () => {
    await render();
    fixture.componentInstance.errors.set(['to[0] "x@y" has a domain "y" that is not a valid host name']);
    await fixture.whenStable();
    expect(texts(el(), '.field-error')).toEqual(['to[0] "x@y" has a domain "y" that is not a valid host name']);
    expect(input.getAttribute('aria-invalid')).toBe('true');
  });

  it('splits a pasted list into chips and keeps what is not an address', async () => {
    await render();
    const e = new Event('paste', { bubbles: true, cancelable: true }) as ClipboardEvent;
    Object.defineProperty(e, 'clipboardData', { value: { getData: () => 'a@example.com; "Lee, Ann" <ann@example.com>\nnot-an-address' } });
    input.dispatchEvent(e);
    await fixture.whenStable();
    expect(chips()).toEqual(['a@example.com', 'Lee, Ann <ann@example.com>']);
    expect(input.value).toBe('not-an-address');
  });

  it('offers Confluence groups with the users, and shows a group chip with its member count', async () => {
    api.on('GET', '/api/recipients', [{ accountId: 'wendy', displayName: 'Wendy Writer', email: 'wendy@example.com' }]);
    api.on('GET', '/api/groups', [{ name: 'writers' }]);
    api.on('GET', '/api/groups/writers/members/count', { name: 'writers', count: 12 });
    await render();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    input.focus();
    type(input, 'writ');
    await vi.advanceTimersByTimeAsync(SUGGEST_DEBOUNCE_MS + 10);
    fixture.detectChanges();
    expect(api.callsTo('GET', '/api/groups').map((c) => c.path)).toEqual(['/api/groups?query=writ']);
    expect(texts(el(), '[role="option"]')).toEqual(['Wendy Writer, wendy@example.com', 'writers, Confluence group: everyone in it gets the mail']);
    key(input, 'ArrowUp');
    key(input, 'Enter');
    await vi.advanceTimersByTimeAsync(0);
    fixture.detectChanges();
    expect(chips()).toEqual(['writers group, 12 members']);
    expect(fixture.componentInstance.to().map(toRecipientInput)).toEqual([{ group: 'writers' }]);
    expect(el().querySelector('li.chip')!.getAttribute('data-recipient')).toBe('group:writers');
  });

  it('still offers users when the groups cannot be searched', async () => {
    api.on('GET', '/api/recipients', [{ accountId: 'wendy', displayName: 'Wendy Writer', email: 'wendy@example.com' }]);
    await render();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    input.focus();
    type(input, 'wen');
    await vi.advanceTimersByTimeAsync(SUGGEST_DEBOUNCE_MS + 10);
    fixture.detectChanges();
    expect(texts(el(), '[role="option"]')).toEqual(['Wendy Writer, wendy@example.com']);
    expect(el().querySelector('.field-warning')).toBeNull();
  });
});
