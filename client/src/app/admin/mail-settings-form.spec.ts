import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { MailSettingsView } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, fakeProviders, settle, texts, type } from '../../testing/fakes';
import { MailSettingsForm } from './mail-settings-form';

const SAVED: MailSettingsView = {
  configured: true,
  senderName: 'Docs Team',
  senderAddress: 'docs@example.com',
  subjectPrefix: '[Wiki]',
  server: {
    mode: 'custom',
    host: 'smtp.example.com',
    port: 587,
    security: 'starttls',
    auth: { type: 'password', username: 'mailer', passwordSet: true },
    tlsCaSet: false,
    tlsCaSubject: null,
    tlsCaExpiresAt: null,
  },
  providedRelay: { available: false, fromAddress: null, dailyQuota: null, usedToday: null },
  updatedAt: '2026-11-20T10:00:00.000Z',
};

const AUTH_FAILED = 'The mail server at smtp.example.com:587 refused the user name or password (reply 535). Check them and try again. The message was not sent.';

describe('mail settings form', () => {
  let api: FakeApi;
  let fixture: ComponentFixture<MailSettingsForm>;
  const el = () => fixture.nativeElement as HTMLElement;
  const field = (id: string) => el().querySelector<HTMLInputElement>(`#${id}`)!;

  async function render() {
    TestBed.configureTestingModule({ imports: [MailSettingsForm], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(MailSettingsForm);
    await fixture.whenStable();
    await settle();
    await fixture.whenStable();
  }

  async function click(selector: string) {
    el().querySelector<HTMLButtonElement>(selector)!.click();
    await settle();
    await fixture.whenStable();
  }

  beforeEach(() => {
    api = new FakeApi().on('GET', '/api/settings/mail', SAVED);
  });

  it('fills the form from the saved settings and says a password is saved without showing it', async () => {
    await render();
    expect(field('ms-host').value).toBe('smtp.example.com');
    expect(field('ms-username').value).toBe('mailer');
    expect(field('ms-password').value).toBe('');
    const hint = el().querySelector('[data-password-set]')!;
    expect(hint.textContent).toContain('A password is saved; leave empty to keep it.');
    expect(field('ms-password').getAttribute('aria-describedby')).toContain(hint.id);
  });

  it('leaves the password out of the saved settings when the field is empty, and sends it when typed', async () => {
    api.on('PUT', '/api/settings/mail', SAVED);
    await render();
    await click('button[type="submit"]');
    const first = api.callsTo('PUT', '/api/settings/mail')[0].body as { server: { auth: Record<string, unknown> } };
    expect(first.server.auth).toEqual({ type: 'password', username: 'mailer' });
    expect('password' in first.server.auth).toBe(false);

    type(field('ms-password'), 's3cret!');
    await click('button[type="submit"]');
    const second = api.callsTo('PUT', '/api/settings/mail')[1].body as { server: { auth: Record<string, unknown> } };
    expect(second.server.auth).toEqual({ type: 'password', username: 'mailer', password: 's3cret!' });
    expect(field('ms-password').value).toBe('');
    expect(texts(el(), '[data-notice]').join(' ')).toContain('Saved.');
  });

  it('tests the connection with what the form holds and shows the service sentence', async () => {
    api.on('POST', '/api/settings/mail/verify', { ok: true, steps: ['connect', 'tls', 'auth'], message: 'Connected to smtp.example.com:587, started TLS and signed in.' });
    await render();
    type(field('ms-host'), 'mail.example.org');
    type(field('ms-test-recipient'), 'me@example.org');
    await click('button[data-test-connection]');
    const [call] = api.callsTo('POST', '/api/settings/mail/verify');
    expect(call.body).toEqual({
      settings: {
        senderName: 'Docs Team',
        senderAddress: 'docs@example.com',
        subjectPrefix: '[Wiki]',
        server: { mode: 'custom', host: 'mail.example.org', port: 587, security: 'starttls', auth: { type: 'password', username: 'mailer' } },
      },
      testRecipient: 'me@example.org',
    });
    expect(texts(el(), '[data-notice]').join(' ')).toContain('Connected to smtp.example.com:587, started TLS and signed in. (checked: connect, tls, auth)');
  });

  it('shows a refused password next to the password field and keeps what was typed', async () => {
    api.fail('POST', '/api/settings/mail/verify', 'SMTP_AUTH_FAILED', AUTH_FAILED, { smtpCode: 535 }, 502);
    await render();
    type(field('ms-password'), 'wrong-password');
    type(field('ms-host'), 'smtp2.example.com');
    await click('button[data-test-connection]');
    const error = el().querySelector('#ms-password-error')!;
    expect(error.textContent).toBe(AUTH_FAILED);
    expect(field('ms-password').getAttribute('aria-invalid')).toBe('true');
    expect(field('ms-password').getAttribute('aria-describedby')).toContain('ms-password-error');
    expect(field('ms-password').value).toBe('wrong-password');
    expect(field('ms-host').value).toBe('smtp2.example.com');
    expect(el().querySelector('[data-form-error]')).toBeNull();
    // Editing the field clears the sentence about it.
    type(field('ms-password'), 'another');
    await fixture.whenStable();
    expect(el().querySelector('#ms-password-error')).toBeNull();
  });

  it('puts each validation issue next to its field and the rest above the buttons', async () => {
    api.fail('PUT', '/api/settings/mail', 'VALIDATION_FAILED', 'The request is not valid: senderAddress "nope" is not an email address; server.port: too big.', {
      issues: [
        { path: 'senderAddress', message: 'senderAddress "nope" is not an email address (expected name@domain)' },
        { path: 'server.port', message: 'server.port: Too big: expected number to be <=65535' },
      ],
    });
    await render();
    type(field('ms-sender-address'), 'nope');
    type(field('ms-port'), '70000');
    await click('button[type="submit"]');
    expect(el().querySelector('#ms-sender-address-error')!.textContent).toContain('is not an email address');
    expect(el().querySelector('#ms-port-error')!.textContent).toContain('Too big');
    expect(el().querySelector('[data-form-error]')).toBeNull();
    expect(field('ms-sender-address').value).toBe('nope');
  });

  it('shows an error that concerns no field above the buttons', async () => {
    api.fail('PUT', '/api/settings/mail', 'FORBIDDEN', 'Only a Confluence site admin can do this. Ask a site admin of your Confluence site.', undefined, 403);
    await render();
    await click('button[type="submit"]');
    expect(texts(el(), '[data-form-error]').join(' ')).toContain('Only a Confluence site admin can do this.');
  });

  it('keeps a saved OAuth2 client secret when its field is left empty, and says one is saved', async () => {
    api.on('GET', '/api/settings/mail', {
      ...SAVED,
      server: {
        mode: 'custom',
        host: 'smtp.office365.com',
        port: 587,
        security: 'starttls',
        auth: { type: 'oauth2', provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', user: 'wiki@contoso.com', clientSecretSet: true },
        tlsCaSet: false,
        tlsCaSubject: null,
        tlsCaExpiresAt: null,
      },
    } satisfies MailSettingsView);
    api.on('PUT', '/api/settings/mail', SAVED);
    await render();
    expect(field('ms-oauth-user').value).toBe('wiki@contoso.com');
    expect(el().querySelector('#ms-client-secret-hint')!.textContent).toContain('A client secret is saved; leave empty to keep it.');
    await click('button[type="submit"]');
    const body = api.callsTo('PUT', '/api/settings/mail')[0].body as { server: { auth: Record<string, unknown> } };
    expect(body.server.auth).toEqual({ type: 'oauth2', provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', user: 'wiki@contoso.com' });
  });

  it('says when the operator runs no relay', async () => {
    await render();
    expect(el().querySelector('#ms-mode-provided-hint')!.textContent).toContain('runs no relay');
  });

  it('sends a pasted CA certificate, shows the saved one by its subject, and removes it only when asked', async () => {
    const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const withCa: MailSettingsView = { ...SAVED, server: { ...(SAVED.server as Extract<MailSettingsView['server'], { mode: 'custom' }>), tlsCaSet: true, tlsCaSubject: 'CN=Corp Root CA', tlsCaExpiresAt: '2030-01-01T00:00:00.000Z' } };
    api.on('PUT', '/api/settings/mail', withCa);
    await render();
    type(field('ms-tls-ca'), PEM);
    await click('button[type="submit"]');
    expect((api.callsTo('PUT', '/api/settings/mail')[0].body as { server: Record<string, unknown> }).server['tlsCa']).toBe(PEM);
    expect(field('ms-tls-ca').value).toBe('');
    expect(el().querySelector('[data-tls-ca-hint]')!.textContent).toContain('Trusted: CN=Corp Root CA, valid until');

    await click('button[type="submit"]');
    expect('tlsCa' in (api.callsTo('PUT', '/api/settings/mail')[1].body as { server: Record<string, unknown> }).server).toBe(false);

    api.on('PUT', '/api/settings/mail', SAVED);
    await click('button[data-remove-tls-ca]');
    expect(el().querySelector('[data-tls-ca-hint]')!.textContent).toContain('removed when you save');
    await click('button[type="submit"]');
    expect((api.callsTo('PUT', '/api/settings/mail')[2].body as { server: Record<string, unknown> }).server['tlsCa']).toBeNull();
    expect(el().querySelector('[data-remove-tls-ca]')).toBeNull();
  });

  it('shows the service sentence about a refused CA certificate next to its field', async () => {
    api.fail('PUT', '/api/settings/mail', 'VALIDATION_FAILED', 'server.tlsCa is not a CA certificate (CN=smtp.example.com cannot issue certificates).', {
      issues: [{ path: 'server.tlsCa', message: 'server.tlsCa is not a CA certificate (CN=smtp.example.com cannot issue certificates)' }],
    });
    await render();
    type(field('ms-tls-ca'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----');
    await click('button[type="submit"]');
    expect(el().querySelector('#ms-tls-ca-error')!.textContent).toContain('is not a CA certificate');
    expect(field('ms-tls-ca').getAttribute('aria-describedby')).toContain('ms-tls-ca-error');
  });
});
