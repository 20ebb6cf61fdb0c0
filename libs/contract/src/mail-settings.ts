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

export const smtpAuthSchema = z.discriminatedUnion('type', [passwordAuth, noAuth]);

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

/** What GET /api/settings/mail answers: never the password, only whether one is set. */
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
        auth: { type: 'password'; username: string; passwordSet: boolean } | { type: 'none' };
      }
    | { mode: 'provided' };
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
