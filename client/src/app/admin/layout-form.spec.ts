import type { MailLayoutView } from '@mailpage/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settle, type } from '../../testing/fakes';
import { setUpFormSpec } from '../../testing/form-spec-setup';
import { LayoutForm, PREVIEW_DEBOUNCE_MS } from './layout-form';

const VIEW: MailLayoutView = { headerText: 'Acme', logo: { contentType: 'image/png', size: 2048 }, footerTemplate: 'Sent by {sender}', customCss: '', includePageLink: true, allowSpaceOverrides: false, updatedAt: null };
const PREVIEW = { subject: '[Wiki] Release plan', html: '<p>Acme sample</p>', text: 'Acme sample', size: 4096 };

describe('mail layout form', () => {
  const spec = setUpFormSpec(LayoutForm);
  const el = spec.el;

  beforeEach(() => {
    spec.api.on('GET', '/api/settings/layout', VIEW).on('POST', '/api/settings/layout/preview', PREVIEW);
  });
  afterEach(() => vi.useRealTimers());

  it('shows the saved layout and a live preview of it in a sandboxed frame', async () => {
    await spec.render();
    expect(el().querySelector<HTMLInputElement>('#ly-header')!.value).toBe('Acme');
    expect(el().querySelector('#ly-logo-hint')!.textContent).toContain('Saved: a PNG image of 2 KB.');
    expect(spec.api.callsTo('POST', '/api/settings/layout/preview')[0].body).toEqual({ layout: { headerText: 'Acme', footerTemplate: 'Sent by {sender}', customCss: '', includePageLink: true, allowSpaceOverrides: false } });
    const frame = el().querySelector('[data-layout-preview] iframe')!;
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('srcdoc')).toBe('<p>Acme sample</p>');
  });

  it('previews again as the form changes, once the typing stops', async () => {
    await spec.render();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    type(el().querySelector<HTMLInputElement>('#ly-header')!, 'Acme Docs');
    type(el().querySelector<HTMLInputElement>('#ly-header')!, 'Acme Docs!');
    await vi.advanceTimersByTimeAsync(PREVIEW_DEBOUNCE_MS + 10);
    const calls = spec.api.callsTo('POST', '/api/settings/layout/preview');
    expect(calls).toHaveLength(2);
    expect((calls[1].body as { layout: { headerText: string } }).layout.headerText).toBe('Acme Docs!');
  });

  it('refuses CSS that could load or run something as it is typed, and does not save it', async () => {
    await spec.render();
    type(el().querySelector<HTMLTextAreaElement>('#ly-css')!, 'p { width: expression(alert(1)) }');
    await spec.fixture.whenStable();
    const field = el().querySelector('#ly-css')!.closest('.field')!;
    expect(field.querySelector('.field-error')!.textContent).toContain('The CSS uses expression(');
    expect(el().querySelector('#ly-css')!.getAttribute('aria-invalid')).toBe('true');
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await settle();
    expect(spec.api.callsTo('PUT', '/api/settings/layout')).toHaveLength(0);
  });

  it('removes the logo on save when asked, and shows the service message next to a field', async () => {
    spec.api.fail('PUT', '/api/settings/layout', 'VALIDATION_FAILED', 'The layout is not valid: footerTemplate is longer than 2000 characters.', {
      issues: [{ path: 'footerTemplate', message: 'footerTemplate is longer than 2000 characters' }],
    });
    await spec.render();
    el().querySelectorAll<HTMLButtonElement>('button.btn-subtle')[0].click();
    await spec.fixture.whenStable();
    expect(el().querySelector('#ly-logo-hint')!.textContent).toContain('The logo will be removed when you save.');
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
    expect(spec.api.callsTo('PUT', '/api/settings/layout')[0].body).toMatchObject({ logo: null, headerText: 'Acme' });
    const footer = el().querySelector('#ly-footer')!.closest('.field')!;
    expect(footer.querySelector('.field-error')!.textContent).toBe('footerTemplate is longer than 2000 characters');
  });
});
