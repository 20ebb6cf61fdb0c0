import type { SpaceMailView } from '@mailpage/contract';
import { describe, expect, it } from 'vitest';
import { type } from '../../testing/fakes';
import { setUpFormSpec } from '../../testing/form-spec-setup';
import { SpaceMailForm } from './space-mail-form';

const VIEW: SpaceMailView = { spaceKey: 'DOCS', senderName: null, replyTo: null, subjectPrefix: '[DOCS]', allowed: true, editable: true };

describe("a space's sender settings", () => {
  const spec = setUpFormSpec(SpaceMailForm, { spaceKey: 'DOCS' });
  const el = spec.el;

  async function render(view: SpaceMailView) {
    spec.api.on('GET', '/api/spaces/DOCS/mail', view);
    await spec.render();
  }

  it('saves the sender name and Reply-To, empty fields as the site default', async () => {
    spec.api.on('PUT', '/api/spaces/DOCS/mail', (_p: string, body: unknown) => ({ ...VIEW, ...(body as object) }));
    await render(VIEW);
    expect(el().querySelector<HTMLInputElement>('#sm-prefix')!.value).toBe('[DOCS]');
    type(el().querySelector<HTMLInputElement>('#sm-sender-name')!, 'Docs Team');
    type(el().querySelector<HTMLInputElement>('#sm-reply-to')!, 'docs@example.com');
    type(el().querySelector<HTMLInputElement>('#sm-prefix')!, '');
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
    expect(spec.api.callsTo('PUT', '/api/spaces/DOCS/mail')[0].body).toEqual({ senderName: 'Docs Team', replyTo: 'docs@example.com', subjectPrefix: null });
    expect(el().textContent).toContain('Saved.');
  });

  it('shows a bad Reply-To next to its field and keeps what was typed', async () => {
    spec.api.fail('PUT', '/api/spaces/DOCS/mail', 'VALIDATION_FAILED', 'The request is not valid: replyTo "docs@" is not an email address.', { issues: [{ path: 'replyTo', message: 'replyTo "docs@" is not an email address' }] });
    await render(VIEW);
    type(el().querySelector<HTMLInputElement>('#sm-reply-to')!, 'docs@');
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
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
