import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const ATLASSIAN_JWKS_URL = 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json';

export interface SecretKey {
  id: string;
  key: Buffer;
}

/** Typed, validated configuration. Built once at boot by `loadConfig`; injected as `AppConfig`. */
export abstract class AppConfig {
  abstract readonly mode: 'local' | 'production';
  abstract readonly host: string;
  abstract readonly port: number;
  abstract readonly logLevel: LogLevel;
  abstract readonly dataDir: string;
  abstract readonly database: { type: 'sqlite'; path: string } | { type: 'mysql'; url: string };
  /** The key new secrets are sealed with, then older keys still accepted for reading. */
  abstract readonly secretKeys: SecretKey[];
  abstract readonly forge: { appIds: string[]; jwksUrl: string | null; apiHosts: string[] };
  abstract readonly localToken: string | null;
  abstract readonly localSmtpPort: number;
  abstract readonly localSandboxPort: number;
  abstract readonly smtp: {
    allowPrivateHosts: boolean;
    connectionTimeoutMs: number;
    greetingTimeoutMs: number;
    socketTimeoutMs: number;
    poolSize: number;
  };
  abstract readonly limits: { maxMailBytes: number; maxRecipients: number; maxRequestBytes: number };
  abstract readonly sendSyncTimeoutMs: number;
}

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : ['true', '1', 'yes'].includes(v)));

const int = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  HOST: z.string().optional(),
  PORT: int(3000, 0, 65535),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  MAILPAGE_DATA_DIR: z.string().optional(),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => !v || /^(mysql|mariadb):\/\//.test(v), 'must be a mysql:// or mariadb:// URL'),
  MAILPAGE_SECRET_KEY: z.string().optional(),
  MAILPAGE_SECRET_KEY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, _ or -').optional(),
  MAILPAGE_OLD_SECRET_KEYS: z.string().optional(),
  FORGE_APP_ID: z.string().optional(),
  FORGE_JWKS_URL: z.string().url('must be a URL').optional(),
  FORGE_API_HOSTS: z.string().optional(),
  MAILPAGE_LOCAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOCAL_SMTP_PORT: int(2525, 0, 65535),
  LOCAL_SANDBOX_PORT: int(0, 0, 65535),
  SMTP_ALLOW_PRIVATE_HOSTS: z.string().optional(),
  SMTP_CONNECTION_TIMEOUT_MS: int(10_000, 100, 120_000),
  SMTP_GREETING_TIMEOUT_MS: int(10_000, 100, 120_000),
  SMTP_SOCKET_TIMEOUT_MS: int(30_000, 100, 600_000),
  SMTP_POOL_SIZE: int(200, 1, 100_000),
  MAIL_MAX_BYTES: int(18 * 1024 * 1024, 1024, 200 * 1024 * 1024),
  MAIL_MAX_RECIPIENTS: int(100, 1, 10_000),
  SEND_SYNC_TIMEOUT_MS: int(20_000, 0, 120_000),
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Mailpage cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses a 32-byte key written as base64 (44 chars) or hex (64 chars). */
export function parseSecretKey(text: string): Buffer | null {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  return key.length === 32 && (/^[0-9a-fA-F]{64}$/.test(t) || key.toString('base64') === t) ? key : null;
}

export function defaultKeyId(key: Buffer): string {
  return `k${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

/**
 * Reads and checks the environment. Every problem is collected, so one start-up tells the operator all that is wrong.
 * Local mode creates what it needs (data folder, a secret key file, a local token); production creates nothing.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const mode = production ? 'production' : 'local';
  const dataDir = resolve(e.MAILPAGE_DATA_DIR ?? './data');

  if (production) {
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required in production (mysql://user:password@host:3306/mailpage)');
    if (!e.MAILPAGE_SECRET_KEY) problems.push('MAILPAGE_SECRET_KEY: required in production (32 random bytes, base64: `openssl rand -base64 32`)');
    if (!e.FORGE_APP_ID) problems.push('FORGE_APP_ID: required in production (the app id from manifest.yml, ari:cloud:ecosystem::app/...)');
    if (e.MAILPAGE_LOCAL_TOKEN) problems.push('MAILPAGE_LOCAL_TOKEN: local mode only; remove it in production');
  }

  const secretKeys: SecretKey[] = [];
  let keyText = e.MAILPAGE_SECRET_KEY;
  if (!keyText && !production) {
    mkdirSync(dataDir, { recursive: true });
    const file = resolve(dataDir, 'secret.key');
    if (!existsSync(file)) {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
    }
    keyText = readFileSync(file, 'utf8');
  }
  if (keyText) {
    const key = parseSecretKey(keyText);
    if (!key) problems.push('MAILPAGE_SECRET_KEY: must be 32 bytes written as base64 (44 characters) or hex (64 characters)');
    else secretKeys.push({ id: e.MAILPAGE_SECRET_KEY_ID ?? defaultKeyId(key), key });
  }
  for (const item of (e.MAILPAGE_OLD_SECRET_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [id, text] = item.includes(':') ? item.split(':', 2) : [undefined, item];
    const key = parseSecretKey(text);
    if (!key) problems.push('MAILPAGE_OLD_SECRET_KEYS: each entry must be [id:]key with a 32-byte base64 or hex key');
    else secretKeys.push({ id: id ?? defaultKeyId(key), key });
  }

  const allowPrivate = bool(!production).safeParse(e.SMTP_ALLOW_PRIVATE_HOSTS);
  if (!allowPrivate.success) problems.push('SMTP_ALLOW_PRIVATE_HOSTS: must be true or false');

  if (problems.length) throw new ConfigError(problems);

  return {
    mode,
    host: e.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    port: e.PORT,
    logLevel: e.LOG_LEVEL ?? 'info',
    dataDir,
    database: e.DATABASE_URL ? { type: 'mysql', url: e.DATABASE_URL } : { type: 'sqlite', path: resolve(dataDir, 'mailpage.sqlite') },
    secretKeys,
    forge: {
      appIds: e.FORGE_APP_ID ? [e.FORGE_APP_ID] : [],
      jwksUrl: e.FORGE_JWKS_URL ?? (production ? ATLASSIAN_JWKS_URL : null),
      apiHosts: (e.FORGE_API_HOSTS ?? 'api.atlassian.com').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    },
    localToken: production ? null : (e.MAILPAGE_LOCAL_TOKEN ?? randomBytes(24).toString('base64url')),
    localSmtpPort: e.LOCAL_SMTP_PORT,
    localSandboxPort: e.LOCAL_SANDBOX_PORT,
    smtp: {
      allowPrivateHosts: allowPrivate.success ? allowPrivate.data : false,
      connectionTimeoutMs: e.SMTP_CONNECTION_TIMEOUT_MS,
      greetingTimeoutMs: e.SMTP_GREETING_TIMEOUT_MS,
      socketTimeoutMs: e.SMTP_SOCKET_TIMEOUT_MS,
      poolSize: e.SMTP_POOL_SIZE,
    },
    limits: {
      maxMailBytes: e.MAIL_MAX_BYTES,
      maxRecipients: e.MAIL_MAX_RECIPIENTS,
      // base64 in JSON costs 4/3; leave room for the HTML and fields around it.
      maxRequestBytes: Math.ceil(e.MAIL_MAX_BYTES * 1.4) + 1024 * 1024,
    },
    sendSyncTimeoutMs: e.SEND_SYNC_TIMEOUT_MS,
  };
}
