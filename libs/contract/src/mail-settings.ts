import { z } from 'zod';
import { headerText, mailboxAddress } from './fields';

export const SMTP_SECURITY = ['tls', 'starttls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

const passwordAuth = z.strictObject({
  type: z.literal('password'),
  username: headerText('server.auth.username', 320).min(1, 'server.auth.username is required'),
  /** Write-only. Omit to keep the saved password (for the same host); `null` clears it. */
  password: z.string().max(1024, 'server.auth.password is longer than 1024 characters').nullable().optional(),
});

const noAuth = z.strictObject({ type: z.literal('none') });

/** A write-only secret: omit it to keep the saved one (same host and account), `null` to clear it. */
const writeOnlySecret = (field: string, max: number) =>
  z.string({ message: `${field} must be a string` }).min(1, `${field} is empty`).max(max, `${field} is longer than ${max} characters`).nullable().optional();

const oauth2User = mailboxAddress('server.auth.user');

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Microsoft 365: an Entra app registration with the SMTP.SendAsApp permission, client-credentials grant. */
const microsoftOAuth2 = z.strictObject({
  type: z.literal('oauth2'),
  provider: z.literal('microsoft'),
  tenantId: z
    .string({ message: 'server.auth.tenantId must be a string' })
    .trim()
    .max(253, 'server.auth.tenantId is longer than 253 characters')
    .refine(
      (v) => GUID.test(v) || /^(?!-)[A-Za-z0-9-]{1,63}(\.(?!-)[A-Za-z0-9-]{1,63})+$/.test(v),
      'server.auth.tenantId must be the directory (tenant) ID, such as 72f988bf-86f1-41af-91ab-2d7cd011db47, or a verified domain such as contoso.onmicrosoft.com',
    ),
  clientId: z.string({ message: 'server.auth.clientId must be a string' }).trim().regex(GUID, 'server.auth.clientId must be the application (client) ID, a GUID'),
  /** Write-only. */
  clientSecret: writeOnlySecret('server.auth.clientSecret', 1024),
  /** The mailbox the app sends as (the XOAUTH2 user). */
  user: oauth2User,
});

/** The fields of a Google service account key file (JSON) that are needed; the rest is ignored. */
export interface GoogleServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
}

/** Google Workspace: a service account with domain-wide delegation for https://mail.google.com/, impersonating `user`. */
const googleServiceAccount = z.strictObject({
  type: z.literal('oauth2'),
  provider: z.literal('google'),
  credential: z.literal('service-account'),
  user: oauth2User,
  /** Write-only: the service account's JSON key file, as downloaded from the Google Cloud console. */
  serviceAccountKey: writeOnlySecret('server.auth.serviceAccountKey', 16_384).superRefine((v, ctx) => {
    if (typeof v !== 'string') return;
    const problem = serviceAccountKeyProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `server.auth.serviceAccountKey ${problem}` });
  }),
});

/** Google: an OAuth client and a refresh token the user granted for https://mail.google.com/. */
const googleRefreshToken = z.strictObject({
  type: z.literal('oauth2'),
  provider: z.literal('google'),
  credential: z.literal('refresh-token'),
  user: oauth2User,
  clientId: z
    .string({ message: 'server.auth.clientId must be a string' })
    .trim()
    .min(1, 'server.auth.clientId is required')
    .max(255, 'server.auth.clientId is longer than 255 characters')
    .regex(/^[A-Za-z0-9._-]+$/, 'server.auth.clientId must be an OAuth client ID such as 1234-abc.apps.googleusercontent.com'),
  /** Write-only. */
  clientSecret: writeOnlySecret('server.auth.clientSecret', 1024),
  /** Write-only. */
  refreshToken: writeOnlySecret('server.auth.refreshToken', 4096),
});

const googleOAuth2 = z.discriminatedUnion('credential', [googleServiceAccount, googleRefreshToken], {
  message: 'server.auth.credential must be "service-account" or "refresh-token"',
});

export const oauth2AuthSchema = z.discriminatedUnion('provider', [microsoftOAuth2, googleOAuth2], {
  message: 'server.auth.provider must be "microsoft" or "google"',
});

export const smtpAuthSchema = z.discriminatedUnion('type', [passwordAuth, noAuth, oauth2AuthSchema], {
  message: 'server.auth.type must be "password", "oauth2" or "none"',
});

export type OAuth2AuthInput = z.output<typeof oauth2AuthSchema>;

/** Why a text is not a usable service account key file, or null. Checks the shape only; the server checks the key itself. */
export function serviceAccountKeyProblem(text: string): string | null {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    return 'is not the JSON key file of a service account';
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return 'is not the JSON key file of a service account';
  const k = key as Record<string, unknown>;
  if (k.type !== 'service_account') return 'is not a service account key (its "type" is not "service_account")';
  if (typeof k.client_email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(k.client_email)) return 'has no client_email';
  if (typeof k.private_key !== 'string' || !k.private_key.includes('PRIVATE KEY-----')) return 'has no private_key';
  return null;
}

/** Largest PEM accepted for `server.tlsCa`. */
export const MAX_TLS_CA_BYTES = 64 * 1024;

/**
 * A CA certificate (PEM) to trust for the custom server, besides the public ones: for an on-premises server whose
 * certificate a private CA issued. Omit it to keep the saved one (same host), `null` to remove it. The shape is
 * checked here; the server reads the certificate itself (one CA certificate, valid now).
 */
const tlsCa = z
  .string({ message: 'server.tlsCa must be the text of a PEM certificate' })
  .max(MAX_TLS_CA_BYTES, `server.tlsCa is longer than ${MAX_TLS_CA_BYTES / 1024} kB; upload only the CA certificate`)
  .superRefine((v, ctx) => {
    const problem = tlsCaShapeProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `server.tlsCa ${problem}` });
  })
  .nullable()
  .optional();

/** Why a text is not one PEM certificate, or null. A private key is named as such: it must never be uploaded. */
export function tlsCaShapeProblem(text: string): string | null {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return 'holds a private key; upload only the CA certificate (its private key must never leave the CA)';
  const [first, ...more] = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (!first) return 'is not a PEM certificate (it must start with -----BEGIN CERTIFICATE-----)';
  if (more.length) return `holds ${more.length + 1} certificates; upload only the one CA certificate that issued the server's certificate (or its chain)`;
  if (text.replace(first, '').trim()) return 'has text outside the PEM certificate; upload only the certificate';
  return null;
}

const customServer = z.strictObject({
  mode: z.literal('custom'),
  host: z
    .string()
    .trim()
    .min(1, 'server.host is required')
    .max(253, 'server.host is longer than 253 characters')
    .regex(/^[A-Za-z0-9.:\-[\]]+$/, 'server.host must be a host name or an IP address'),
  port: z.number().int('server.port must be a whole number').min(1).max(65535),
  security: z.enum(SMTP_SECURITY, { message: 'server.security must be one of tls, starttls, none' }),
  auth: smtpAuthSchema.default({ type: 'none' }),
  tlsCa,
});

const providedServer = z.strictObject({ mode: z.literal('provided') });

export const mailServerSchema = z.discriminatedUnion('mode', [customServer, providedServer], {
  message: 'server.mode must be "custom" or "provided"',
});

export const mailSettingsInputSchema = z.strictObject({
  senderName: headerText('senderName', 100).default(''),
  senderAddress: mailboxAddress('senderAddress'),
  subjectPrefix: headerText('subjectPrefix', 100).default(''),
  server: mailServerSchema,
});

export type MailSettingsInput = z.input<typeof mailSettingsInputSchema>;
export type MailSettingsParsed = z.output<typeof mailSettingsInputSchema>;
export type MailServerInput = z.output<typeof mailServerSchema>;

/** The login part of the view: never a secret, only whether one is saved. */
export type SmtpAuthView =
  | { type: 'password'; username: string; passwordSet: boolean }
  | { type: 'none' }
  | { type: 'oauth2'; provider: 'microsoft'; tenantId: string; clientId: string; user: string; clientSecretSet: boolean }
  | { type: 'oauth2'; provider: 'google'; credential: 'service-account'; user: string; serviceAccountEmail: string | null; serviceAccountKeySet: boolean }
  | { type: 'oauth2'; provider: 'google'; credential: 'refresh-token'; user: string; clientId: string; clientSecretSet: boolean; refreshTokenSet: boolean };

/** What the operator's relay offers this site (server.mode "provided"). */
export interface ProvidedRelayView {
  /** False when the operator runs no relay: only "custom" can be saved. */
  available: boolean;
  /** The operator's address mail is sent from; the site's sender address becomes the Reply-To. */
  fromAddress: string | null;
  /** Recipients per day (UTC) this site may send to through the relay. */
  dailyQuota: number | null;
  /** Recipients counted against today's quota so far. */
  usedToday: number | null;
}

/** What GET /api/settings/mail answers: never a password or other secret, only whether one is set. */
export interface MailSettingsView {
  configured: boolean;
  senderName: string;
  senderAddress: string;
  subjectPrefix: string;
  server:
    | {
        mode: 'custom';
        host: string;
        port: number;
        security: SmtpSecurity;
        auth: SmtpAuthView;
        /** Whether a CA certificate to trust is saved (server.tlsCa); it is public, but only what names it is shown. */
        tlsCaSet: boolean;
        /** The saved CA's subject, e.g. "CN=Example Corp Root CA, O=Example Corp", and when it expires (ISO 8601). */
        tlsCaSubject: string | null;
        tlsCaExpiresAt: string | null;
      }
    | { mode: 'provided' };
  providedRelay: ProvidedRelayView;
  updatedAt: string | null;
}

export const verifyRequestSchema = z.strictObject({
  /** Settings to try instead of the saved ones; a missing password falls back to the saved one for the same host. */
  settings: mailSettingsInputSchema.optional(),
  /** Send a short test mail to this address after the checks pass. */
  testRecipient: mailboxAddress('testRecipient').optional(),
});
export type VerifyRequest = z.input<typeof verifyRequestSchema>;

export interface VerifyResult {
  ok: true;
  /** What was checked, in order: connect, tls, auth, and test-mail when asked. */
  steps: string[];
  message: string;
  testMessageId?: string;
}
