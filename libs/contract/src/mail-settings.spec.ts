import { describe, expect, it } from 'vitest';
import { mailSettingsInputSchema } from './mail-settings';

const parse = (auth: unknown) =>
  mailSettingsInputSchema.safeParse({ senderAddress: 'docs@contoso.example', server: { mode: 'custom', host: 'smtp.office365.com', port: 587, security: 'starttls', auth } });
const messages = (auth: unknown) => {
  const r = parse(auth);
  return r.success ? [] : r.error.issues.map((i) => i.message);
};

describe('OAuth2 mail server logins in the settings contract', () => {
  it('accepts Microsoft 365 client credentials and both Google credentials, the secrets being optional (write-only)', () => {
    expect(parse({ type: 'oauth2', provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: '72F988BF-86F1-41AF-91AB-2D7CD011DB47', user: 'Bot@Contoso.example' }).data?.server).toMatchObject({
      auth: { type: 'oauth2', provider: 'microsoft', user: 'Bot@contoso.example' },
    });
    expect(parse({ type: 'oauth2', provider: 'google', credential: 'refresh-token', clientId: '1-abc.apps.googleusercontent.com', user: 'bot@contoso.example', refreshToken: '1//x' }).success).toBe(true);
    const key = JSON.stringify({ type: 'service_account', client_email: 'sa@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\n...' });
    expect(parse({ type: 'oauth2', provider: 'google', credential: 'service-account', user: 'bot@contoso.example', serviceAccountKey: key }).success).toBe(true);
  });

  it('names what is wrong, field by field', () => {
    expect(messages({ type: 'oauth2', provider: 'microsoft', tenantId: 'https://login.microsoftonline.com/x', clientId: 'app', user: 'bot' })).toEqual([
      'server.auth.tenantId must be the directory (tenant) ID, such as 72f988bf-86f1-41af-91ab-2d7cd011db47, or a verified domain such as contoso.onmicrosoft.com',
      'server.auth.clientId must be the application (client) ID, a GUID',
      'server.auth.user "bot" is not an email address (expected name@domain)',
    ]);
    expect(messages({ type: 'oauth2', provider: 'aol' })).toEqual(['server.auth.provider must be "microsoft" or "google"']);
    expect(messages({ type: 'oauth2', provider: 'google', user: 'bot@contoso.example' })).toEqual(['server.auth.credential must be "service-account" or "refresh-token"']);
    expect(messages({ type: 'kerberos' })).toEqual(['server.auth.type must be "password", "oauth2" or "none"']);
    expect(messages({ type: 'oauth2', provider: 'google', credential: 'service-account', user: 'bot@contoso.example', serviceAccountKey: '{"type":"authorized_user"}' })).toEqual([
      'server.auth.serviceAccountKey is not a service account key (its "type" is not "service_account")',
    ]);
    expect(messages({ type: 'oauth2', provider: 'google', credential: 'service-account', user: 'bot@contoso.example', serviceAccountKey: 'not json' })).toEqual([
      'server.auth.serviceAccountKey is not the JSON key file of a service account',
    ]);
    expect(messages({ type: 'oauth2', provider: 'microsoft', tenantId: 'contoso.onmicrosoft.com', clientId: '72f988bf-86f1-41af-91ab-2d7cd011db47', user: 'bot@contoso.example', clientSecret: '' })).toEqual([
      'server.auth.clientSecret is empty',
    ]);
  });
});
