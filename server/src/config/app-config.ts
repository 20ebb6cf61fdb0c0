import { createHash, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseMailbox } from '@mailpage/contract';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const ATLASSIAN_JWKS_URL = 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json';
export const MICROSOFT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

export interface SecretKey {
  id: string;
  key: Buffer;
}

/** The operator's relay (PROVIDED_SMTP_URL), which a site can choose instead of its own mail server. */
export interface ProvidedRelayConfig {
  host: string;
  port: number;
  /** smtps:// is implicit TLS; smtp:// requires STARTTLS unless the URL says `?security=none`. */
  security: 'tls' | 'starttls' | 'none';
  auth: { user: string; pass: string } | null;
  /** The operator's address (PROVIDED_FROM): header From and envelope sender of relayed mail. */
  from: string;
  /** Recipients per site per UTC day. */
  dailyQuota: number;
}

/** The operator's DKIM key for relayed mail. */
export interface DkimConfig {
  domain: string;
  selector: string;
  privateKey: KeyObject;
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
  /** Worker threads that render pages (sanitise, style, convert images); 0: on the event loop. */
  abstract readonly composeWorkers: number;
  abstract readonly sendSyncTimeoutMs: number;
  /** Sends per window, per user and per site, counted in the database across nodes. */
  abstract readonly rateLimits: { perUser: number; perTenant: number; windowSeconds: number };
  /** Null when the operator offers no relay: sites must use their own mail server. */
  abstract readonly provided: ProvidedRelayConfig | null;
  /** Null when relayed mail is not DKIM-signed by this service. */
  abstract readonly dkim: DkimConfig | null;
  /** Token endpoints for OAuth2 SMTP logins (overridable so tests can play the identity provider). */
  abstract readonly oauth2: { microsoftAuthorityHost: string; googleTokenUrl: string };
  /**
   * Prometheus metrics: a listener of their own on `host:port` (port 0: none). With a token, every /metrics request
   * needs `Authorization: Bearer <token>`, and the main port serves /metrics too.
   */
  abstract readonly metrics: { port: number; host: string; token: string | null };
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
  COMPOSE_WORKERS: int(Math.min(4, availableParallelism()), 0, 64),
  MAIL_MAX_BYTES: int(18 * 1024 * 1024, 1024, 200 * 1024 * 1024),
  MAIL_MAX_RECIPIENTS: int(100, 1, 10_000),
  SEND_SYNC_TIMEOUT_MS: int(20_000, 0, 120_000),
  SEND_RATE_LIMIT_PER_USER: int(30, 1, 1_000_000),
  SEND_RATE_LIMIT_PER_TENANT: int(300, 1, 10_000_000),
  SEND_RATE_LIMIT_WINDOW_SECONDS: int(60, 1, 86_400),
  PROVIDED_SMTP_URL: z.string().optional(),
  PROVIDED_FROM: z.string().optional(),
  PROVIDED_DAILY_QUOTA: int(500, 1, 10_000_000),
  DKIM_DOMAIN: z.string().optional(),
  DKIM_SELECTOR: z.string().optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().optional(),
  MICROSOFT_AUTHORITY_HOST: z.string().optional(),
  GOOGLE_TOKEN_URL: z.string().optional(),
  METRICS_PORT: int(9464, 0, 65535),
  METRICS_HOST: z.string().optional(),
  METRICS_TOKEN: z
    .string()
    .optional()
    .refine((v) => !v || /^[\x21-\x7e]{16,512}$/.test(v), 'must be 16 to 512 visible characters without spaces (openssl rand -hex 32)'),
});

/** Every variable the configuration reads (for the checks that README, .env.example and docker-compose.yml list them). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

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

  const provided = parseProvidedRelay(e, problems);
  const dkim = parseDkim(e, provided, problems);
  const microsoftAuthorityHost = tokenEndpoint('MICROSOFT_AUTHORITY_HOST', e.MICROSOFT_AUTHORITY_HOST ?? MICROSOFT_AUTHORITY_HOST, true, problems);
  const googleTokenUrl = tokenEndpoint('GOOGLE_TOKEN_URL', e.GOOGLE_TOKEN_URL ?? GOOGLE_TOKEN_URL, false, problems);
  if (e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) problems.push(`METRICS_PORT: must differ from PORT (${e.PORT}); 0 turns the metrics listener off`);

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
    composeWorkers: e.COMPOSE_WORKERS,
    sendSyncTimeoutMs: e.SEND_SYNC_TIMEOUT_MS,
    rateLimits: { perUser: e.SEND_RATE_LIMIT_PER_USER, perTenant: e.SEND_RATE_LIMIT_PER_TENANT, windowSeconds: e.SEND_RATE_LIMIT_WINDOW_SECONDS },
    provided,
    dkim,
    oauth2: { microsoftAuthorityHost, googleTokenUrl },
    metrics: {
      port: e.METRICS_PORT,
      host: e.METRICS_HOST?.trim() || (production ? '0.0.0.0' : '127.0.0.1'),
      token: e.METRICS_TOKEN || null,
    },
  };
}

type Env = z.output<typeof envSchema>;

/**
 * PROVIDED_SMTP_URL: `smtp://user:password@relay.example:587` (STARTTLS required), `smtps://…:465` (implicit TLS), or
 * `smtp://relay.internal:25?security=none` for a relay the operator reaches without TLS. Messages never quote the
 * URL: it holds the relay's password.
 */
function parseProvidedRelay(e: Env, problems: string[]): ProvidedRelayConfig | null {
  const text = e.PROVIDED_SMTP_URL?.trim();
  if (!text) {
    if (e.PROVIDED_FROM) problems.push('PROVIDED_FROM: only used with PROVIDED_SMTP_URL; set both or neither');
    return null;
  }
  const fromText = e.PROVIDED_FROM?.trim();
  const parsed = fromText ? parseMailbox(fromText) : null;
  if (!fromText) problems.push('PROVIDED_FROM: required with PROVIDED_SMTP_URL (the address relayed mail is sent from, e.g. mail@mailpage.example)');
  else if (!parsed?.ok || parsed.mailbox.name) problems.push('PROVIDED_FROM: must be a bare email address such as mail@mailpage.example');
  const from = parsed?.ok && !parsed.mailbox.name ? parsed.mailbox.address : null;
  const bad = (why: string) => {
    problems.push(`PROVIDED_SMTP_URL: ${why} (expected smtp://user:password@relay.example:587 or smtps://user:password@relay.example:465)`);
    return null;
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad('is not a valid URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return bad('must start with smtp:// or smtps://');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return bad('has no host name');
  if (url.pathname && url.pathname !== '/') return bad('must not have a path');
  if (url.hash) return bad('must not have a #fragment');
  const implicit = url.protocol === 'smtps:';
  let security: ProvidedRelayConfig['security'] = implicit ? 'tls' : 'starttls';
  for (const [name, value] of url.searchParams) {
    if (name !== 'security') return bad(`has an unknown option "${name.slice(0, 40)}"; only ?security=tls|starttls|none is understood`);
    if (value !== 'tls' && value !== 'starttls' && value !== 'none') return bad('has ?security= that is not tls, starttls or none');
    if (implicit && value !== 'tls') return bad('smtps:// is implicit TLS; use smtp:// with ?security=starttls or none');
    security = value;
  }
  const port = url.port ? Number(url.port) : implicit ? 465 : 587;
  let auth: ProvidedRelayConfig['auth'] = null;
  try {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    if (user && !pass) return bad('has a user name but no password');
    if (!user && pass) return bad('has a password but no user name');
    if (user) auth = { user, pass };
  } catch {
    return bad('has a user name or password that is not valid percent-encoding');
  }
  if (!from) return null;
  return { host, port, security, auth, from, dailyQuota: e.PROVIDED_DAILY_QUOTA };
}

/** DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY (PEM) or DKIM_PRIVATE_KEY_FILE: all or none. */
function parseDkim(e: Env, provided: ProvidedRelayConfig | null, problems: string[]): DkimConfig | null {
  const given = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY, e.DKIM_PRIVATE_KEY_FILE].some((v) => v?.trim());
  if (!given) return null;
  const before = problems.length;
  if (!e.PROVIDED_SMTP_URL?.trim()) problems.push('DKIM_DOMAIN: DKIM signing applies to mail through the provided relay; set PROVIDED_SMTP_URL too');
  const domain = (e.DKIM_DOMAIN ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!domain) problems.push('DKIM_DOMAIN: required with DKIM_SELECTOR and the private key');
  else if (!/^(?!-)[a-z0-9-]{1,63}(\.(?!-)[a-z0-9-]{1,63})+$/.test(domain)) problems.push('DKIM_DOMAIN: must be a domain name such as mailpage.example');
  else if (provided) {
    const fromDomain = provided.from.slice(provided.from.lastIndexOf('@') + 1);
    if (fromDomain !== domain && !fromDomain.endsWith(`.${domain}`)) {
      problems.push(`DKIM_DOMAIN: must be the domain of PROVIDED_FROM (${fromDomain}) or a parent of it, or DMARC will not accept the signature`);
    }
  }
  const selector = (e.DKIM_SELECTOR ?? '').trim();
  if (!selector) problems.push('DKIM_SELECTOR: required with DKIM_DOMAIN (the name of the key record, <selector>._domainkey.<domain>)');
  else if (!/^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*$/.test(selector)) problems.push('DKIM_SELECTOR: must be letters, digits, - or _, in dot-separated labels');

  let pem: string | null = null;
  if (e.DKIM_PRIVATE_KEY?.trim() && e.DKIM_PRIVATE_KEY_FILE?.trim()) problems.push('DKIM_PRIVATE_KEY_FILE: set either DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE, not both');
  else if (e.DKIM_PRIVATE_KEY?.trim()) pem = e.DKIM_PRIVATE_KEY.replace(/\\n/g, '\n');
  else if (e.DKIM_PRIVATE_KEY_FILE?.trim()) {
    try {
      pem = readFileSync(resolve(e.DKIM_PRIVATE_KEY_FILE.trim()), 'utf8');
    } catch {
      problems.push('DKIM_PRIVATE_KEY_FILE: cannot be read');
    }
  } else problems.push('DKIM_PRIVATE_KEY: required with DKIM_DOMAIN (PEM text, or a file path in DKIM_PRIVATE_KEY_FILE)');

  let privateKey: KeyObject | null = null;
  if (pem !== null) {
    const name = e.DKIM_PRIVATE_KEY_FILE?.trim() ? 'DKIM_PRIVATE_KEY_FILE' : 'DKIM_PRIVATE_KEY';
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      problems.push(`${name}: is not a PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY") without a passphrase`);
    }
    if (privateKey && privateKey.asymmetricKeyType !== 'rsa') {
      problems.push(`${name}: must be an RSA key (rsa-sha256, RFC 6376); this is ${privateKey.asymmetricKeyType ?? 'another kind of key'}`);
    } else if (privateKey && (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) {
      problems.push(`${name}: the RSA key must have at least 1024 bits (2048 is recommended)`);
    }
  }
  if (problems.length > before || !privateKey) return null;
  return { domain, selector, privateKey };
}

/** An OAuth2 token endpoint: https, or plain http to this machine only (a test's identity provider). */
function tokenEndpoint(name: string, text: string, originOnly: boolean, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    problems.push(`${name}: must be a URL`);
    return text;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) problems.push(`${name}: must be an https:// URL`);
  if (url.username || url.password || url.search || url.hash) problems.push(`${name}: must not carry credentials, a query or a fragment`);
  if (originOnly) {
    if (url.pathname !== '/') problems.push(`${name}: must be a bare origin such as ${MICROSOFT_AUTHORITY_HOST}`);
    return url.origin;
  }
  return url.toString();
}
