import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { SpaceMailView } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, fakeProviders, settle, type } from '../../testing/fakes';
import { SpaceMailForm } from './space-mail-form';

const VIEW: SpaceMailView = { spaceKey: 'DOCS', senderName: null, replyTo: null, subjectPrefix: '[DOCS]', allowed: true, editable: true };

describe("a space's sender settings", () => {
  let api: FakeApi;
  let fixture: ComponentFixture<SpaceMailForm>;
  const el = () => fixture.nativeElement as HTMLElement;

  async function render(view: SpaceMailView) {
    api.on('GET', '/api/spaces/DOCS/mail', view);
    TestBed.configureTestingModule({ imports: [SpaceMailForm], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(SpaceMailForm);
    fixture.componentRef.setInput('spaceKey', 'DOCS');
    await fixture.whenStable();
    await settle();
    await fixture.whenStable();
  }

  beforeEach(() => {
    api = new FakeApi();
  });

  it('saves the sender name and Reply-To, empty fields as the site default', async () => {
    api.on('PUT', '/api/spaces/DOCS/mail', (_p: string, body: unknown) => ({ ...VIEW, ...(body as object) }));
    await render(VIEW);
    expect(el().querySelector<HTMLInputElement>('#sm-prefix')!.value).toBe('[DOCS]');
    type(el().querySelector<HTMLInputElement>('#sm-sender-name')!, 'Docs Team');
    type(el().querySelector<HTMLInputElement>('#sm-reply-to')!, 'docs@example.com');
    type(el().querySelector<HTMLInputElement>('#sm-prefix')!, '');
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await settle();
    await fixture.whenStable();
    expect(api.callsTo('PUT', '/api/spaces/DOCS/mail')[0].body).toEqual({ senderName: 'Docs Team', replyTo: 'docs@example.com', subjectPrefix: null });
    expect(el().textContent).toContain('Saved.');
  });

  it('shows a bad Reply-To next to its field and keeps what was typed', async () => {
    api.fail('PUT', '/api/spaces/DOCS/mail', 'VALIDATION_FAILED', 'The request is not valid: replyTo "docs@" is not an email address.', { issues: [{ path: 'replyTo', message: 'replyTo "docs@" is not an email address' }] });
    await render(VIEW);
    type(el().querySelector<HTMLInputElement>('#sm-reply-to')!, 'docs@');
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await settle();
    await fixture.whenStable();
    const field = el().querySelector('#sm-reply-to')!.closest('.field')!;
    expect(field.querySelector('.field-error')!.textContent).toContain('is not an email address');
    expect(el().querySelector<HTMLInputElement>('#sm-reply-to')!.value).toBe('docs@');
  });

  it('says when the site admin does not allow space senders, and offers no save', async () => {
    await render({ ...VIEW, allowed: false, editable: false });
    expect(el().querySelector('[data-not-allowed]')!.textContent).toContain('A site admin has not allowed spaces to change the sender.');
    expect(el().querySelector('fieldset')!.disabled).toBe(true);
    expect(el().querySelector('button[type="submit"]')).toBeNull();
  });
});
