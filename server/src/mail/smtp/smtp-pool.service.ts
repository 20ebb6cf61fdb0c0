import { Inject, Injectable, Optional, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tls from 'node:tls';
import { LRUCache } from 'lru-cache';
import nodemailer, { type SMTPTransportOptions, type Transporter } from 'nodemailer';
import type MimeNode from 'nodemailer/lib/mime-node';
import { DomainError } from '../../common/domain-error';
import { MetricsService } from '../../metrics/metrics.service';
import { installDataStreamFastPath } from './data-stream-fast-path';
import { checkSmtpHost, type CheckedHost, type HostResolver } from './host-guard';
import { withOAuth2Token } from './oauth2-tokens';
import { mapSmtpError, withAttempts } from './smtp-errors';
import { backoffDelay, DEFAULT_SMTP_RETRY, fitsBeforeDeadline, retryableFailure, type SmtpRetryPolicy } from './smtp-retry';
import type { AccessToken, SmtpEnvelope, SmtpSendResult, SmtpTarget } from './smtp.types';

installDataStreamFastPath();

export const SMTP_POOL_OPTIONS = Symbol('SMTP_POOL_OPTIONS');

export interface SmtpPoolOptions {
  /** Local and test setups only: allow private/loopback hosts and any port. */
  allowPrivateHosts: boolean;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  /** How many pooled transports (one per target key and address) stay open at most. */
  maxPools: number;
  resolver?: HostResolver;
  /** Retrying transient failures before the message was sent; defaults to DEFAULT_SMTP_RETRY (3 attempts within 15 s). */
  retry?: Partial<SmtpRetryPolicy>;
  /**
   * Longest one attempt may take, however the server paces its replies (a server trickling a byte at a time never
   * trips the socket timeout). Default 5 minutes.
   */
  maxAttemptMs?: number;
  /** After shutdown begins, sends still running this long are cut off (and recorded as failed or unknown). Default 25 s. */
  shutdownGraceMs?: number;
  /** Jitter source for the backoff; tests pin it. */
  random?: () => number;
}

const DEFAULT_MAX_ATTEMPT_MS = 5 * 60_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;
// Why an attempt was aborted: it outlasted maxAttemptMs, or shutdown's grace period ended.
const TOO_LONG = 'too-long';
const CUT_OFF = 'cut-off';

interface PoolEntry {
  transporter: Transporter;
  inFlight: number;
  evicted: boolean;
  /** OAuth2: when the first token its connections logged in with is due for renewal; the pool is replaced then. */
  retireAt?: number;
}

/** Set by the stream plugin once nodemailer has read the whole message to put it on the wire. */
interface SendProbe {
  dataSent: boolean;
}

/**
 * The one adapter around nodemailer's SMTP transport. Sends finished message bytes to a customer's server
 * through a pooled transport per target, connecting only to the resolved and checked address.
 * Nothing here logs: an SMTP session carries the password and the mail.
 */
@Injectable()
export class SmtpPool implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly pools: LRUCache<string, PoolEntry>;
  private readonly probes = new WeakMap<object, SendProbe>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly retry: SmtpRetryPolicy;
  /** Aborted when the pool closes or the shutdown grace period is over: waits between attempts end, none starts. */
  private readonly stopRetrying = new AbortController();
  /** One controller per attempt on the wire, so the end of the grace period can cut them all off. */
  private readonly running = new Set<AbortController>();
  private cutOffTimer: NodeJS.Timeout | undefined;
  private cutOff = false;
  private closed = false;

  constructor(
    @Inject(SMTP_POOL_OPTIONS) private readonly opts: SmtpPoolOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.retry = { ...DEFAULT_SMTP_RETRY, ...opts.retry };
    this.pools = new LRUCache<string, PoolEntry>({
      max: Math.max(1, opts.maxPools),
      // An evicted pool finishes the sends it holds, then closes; closing earlier would fail them.
      dispose: (entry) => {
        entry.evicted = true;
        if (entry.inFlight === 0) entry.transporter.close();
      },
    });
    metrics?.countSmtpPools(() => this.pools.size);
  }

  /**
   * Sends `raw` (a finished RFC 5322 message) to exactly the envelope recipients. A transient failure before the
   * message went over DATA (a 4xx reply, a refused or dropped connection) is tried again with backoff, within the
   * retry deadline; anything after that is final, so a send never delivers two copies.
   */
  async send(target: SmtpTarget, envelope: SmtpEnvelope, raw: Buffer): Promise<SmtpSendResult> {
    const task = withOAuth2Token(target, () => this.sendNow(target, envelope, raw));
    this.pending.add(task);
    try {
      return await task;
    } catch (e) {
      this.metrics?.smtpError(e);
      throw e;
    } finally {
      this.pending.delete(task);
    }
  }

  /** Connects, starts TLS and logs in, on a connection of its own that is closed afterwards. */
  async verify(target: SmtpTarget): Promise<void> {
    await withOAuth2Token(target, async () => {
      this.refuseWhenClosed();
      const host = await this.checkHost(target);
      const transporter = nodemailer.createTransport(this.transportOptions(target, host));
      try {
        await transporter.verify();
      } catch (err) {
        throw mapSmtpError(err, target, 'verify');
      } finally {
        transporter.close();
      }
    });
  }

  /**
   * Shutdown has begun. Sends under way go on (their retries are bounded by the retry deadline), but one still running
   * after the grace period is cut off, so the process ends in time and every send is recorded with an outcome.
   */
  beforeApplicationShutdown(): void {
    this.cutOffTimer ??= setTimeout(() => {
      this.cutOff = true;
      this.stopRetrying.abort();
      for (const attempt of this.running) attempt.abort(CUT_OFF);
    }, this.opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
    this.cutOffTimer.unref();
  }

  /** Closes every pool once its sends have finished; later sends are refused, and none starts another attempt. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopRetrying.abort();
    this.pools.clear();
    await Promise.allSettled([...this.pending]);
    clearTimeout(this.cutOffTimer);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private async sendNow(target: SmtpTarget, envelope: SmtpEnvelope, raw: Buffer): Promise<SmtpSendResult> {
    this.refuseWhenClosed();
    const host = await this.checkHost(target);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      this.refuseWhenClosed();
      const probe: SendProbe = { dataSent: false };
      try {
        return { ...(await this.attempt(target, host, envelope, raw, probe)), attempts: attempt };
      } catch (err) {
        if (err instanceof DomainError) throw withAttempts(err, attempt);
        const failure = retryableFailure(err, probe.dataSent);
        const delay = backoffDelay(attempt, this.retry, this.opts.random);
        const worstWait = failure?.kind === 'timeout' ? this.timeoutFor(failure.timeoutType) : 0;
        const stopping = this.stopRetrying.signal;
        const again = failure !== null && attempt < this.retry.attempts && !stopping.aborted && fitsBeforeDeadline(Date.now() - started, delay, this.retry, worstWait);
        const mapped = withAttempts(mapSmtpError(err, target, probe.dataSent ? 'data-sent' : 'before-data'), attempt);
        if (!again) throw mapped;
        try {
          await sleep(delay, undefined, { signal: stopping });
        } catch {
          throw mapped;
        }
      }
    }
  }

  /** One SMTP transaction over the target's pool. `probe.dataSent` tells afterwards whether the message went out. */
  private async attempt(target: SmtpTarget, host: CheckedHost, envelope: SmtpEnvelope, raw: Buffer, probe: SendProbe): Promise<Omit<SmtpSendResult, 'attempts'>> {
    const entry = this.poolFor(target, host);
    // A view of its own gives this attempt an identity the stream plugin can find its probe by.
    const message = raw.subarray(0);
    this.probes.set(message, probe);
    const control = new AbortController();
    const tooLong = setTimeout(() => control.abort(TOO_LONG), this.opts.maxAttemptMs ?? DEFAULT_MAX_ATTEMPT_MS);
    if (this.cutOff) control.abort(CUT_OFF);
    this.running.add(control);
    entry.inFlight++;
    try {
      const info = await entry.transporter.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw: message, signal: control.signal });
      const code = /^(\d{3})/.exec(String(info.response ?? ''));
      return {
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
        code: code ? Number(code[1]) : null,
      };
    } catch (err) {
      if ((err as { code?: unknown })?.code !== 'EABORT') throw err;
      // Our own limits ended the attempt. Once the message went out, that is a lost connection: outcome unknown.
      if (probe.dataSent) throw Object.assign(new Error('aborted'), { code: 'ECONNECTION' });
      if (control.signal.reason === CUT_OFF) throw new DomainError('SERVICE_UNAVAILABLE', 503, 'The service is shutting down and stopped this send before the message went out. The message was not sent; try again in a moment.');
      throw Object.assign(new Error('aborted'), { code: 'ETIMEDOUT', timeoutType: 'SEND_TIMEOUT' });
    } finally {
      clearTimeout(tooLong);
      this.running.delete(control);
      entry.inFlight--;
      if (entry.evicted && entry.inFlight === 0) entry.transporter.close();
    }
  }

  private timeoutFor(timeoutType: string | undefined): number {
    if (timeoutType === 'CONNECT_TIMEOUT') return this.opts.connectionTimeoutMs;
    if (timeoutType === 'GREETING_TIMEOUT') return this.opts.greetingTimeoutMs;
    if (timeoutType === 'SEND_TIMEOUT') return this.opts.maxAttemptMs ?? DEFAULT_MAX_ATTEMPT_MS;
    return this.opts.socketTimeoutMs;
  }

  private poolFor(target: SmtpTarget, host: CheckedHost): PoolEntry {
    // The fingerprint keeps a caller that reuses a key after a settings change off the old server and login.
    const auth = target.auth;
    const login = auth ? (auth.type === 'oauth2' ? ['oauth2', auth.user, auth.tokens.id] : ['password', auth.user, auth.pass]) : null;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([target.host, target.port, target.security, login, target.trustedCa ?? null, !!target.operatorRelay]))
      .digest('base64url');
    const key = `${target.key}\u0000${host.ip}\u0000${fingerprint}`;
    const existing = this.pools.get(key);
    // OAuth2: connections stay logged in with the token they started with. Once that token is due for renewal the
    // pool is replaced (the old one finishes its sends, then closes), so no session outlives its token for long.
    if (existing && !(existing.retireAt !== undefined && Date.now() >= existing.retireAt)) return existing;
    if (existing) this.pools.delete(key);
    const holder: { entry?: PoolEntry } = {};
    const transporter = nodemailer.createTransport({
      ...this.transportOptions(target, host, (token) => {
        if (holder.entry) holder.entry.retireAt = Math.min(holder.entry.retireAt ?? Infinity, token.renewAt);
      }),
      pool: true,
      maxConnections: 3,
      maxMessages: 100,
      // nodemailer puts a message back in the queue when a connection closes before a byte of it was sent (a pooled
      // connection the server dropped while idle). One such requeue is enough; the retry policy above does the rest.
      maxRequeues: 1,
    });
    transporter.use('stream', (mail, done) => {
      const probe = this.probes.get(mail.data.raw as object);
      if (probe) watchDataSent(mail.message, probe);
      done();
    });
    const entry: PoolEntry = { transporter, inFlight: 0, evicted: false };
    holder.entry = entry;
    this.pools.set(key, entry);
    return entry;
  }

  private transportOptions(target: SmtpTarget, host: CheckedHost, onToken?: (token: AccessToken) => void): SMTPTransportOptions {
    return {
      host: host.ip,
      port: target.port,
      secure: target.security === 'tls',
      requireTLS: target.security === 'starttls',
      ignoreTLS: target.security === 'none',
      opportunisticTLS: false,
      // Configured credentials are always used: a server that does not offer AUTH fails loudly instead of
      // receiving unauthenticated mail.
      ...smtpAuthOptions(target, onToken),
      tls: {
        minVersion: 'TLSv1.2',
        // The certificate is checked against the name the admin typed, not the address we connect to.
        ...(host.servername ? { servername: host.servername } : {}),
        ...(target.trustedCa ? { ca: [...defaultCaCertificates(), target.trustedCa] } : {}),
      },
      connectionTimeout: this.opts.connectionTimeoutMs,
      greetingTimeout: this.opts.greetingTimeoutMs,
      socketTimeout: this.opts.socketTimeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
      transactionLog: false,
    };
  }

  private checkHost(target: SmtpTarget): Promise<CheckedHost> {
    return checkSmtpHost(target.host, target.port, {
      // The operator's relay is trusted configuration, not tenant input: it may sit on a private network or port.
      allowPrivateHosts: this.opts.allowPrivateHosts || target.operatorRelay === true,
      resolver: this.opts.resolver,
      timeoutMs: this.opts.connectionTimeoutMs,
    });
  }

  private refuseWhenClosed(): void {
    if (this.closed) throw new DomainError('SERVICE_UNAVAILABLE', 503, 'The service is shutting down. Try again in a moment.');
  }
}

/**
 * nodemailer reports a connection lost while waiting for the final reply exactly like one lost before MAIL FROM
 * (ECONNECTION, command CONN). What tells them apart is whether the message stream was read to its end, so the
 * plugin marks that on the stream the transport is about to read.
 */
function watchDataSent(message: MimeNode, probe: SendProbe): void {
  const create = message.createReadStream.bind(message);
  message.createReadStream = (options) => {
    const stream = create(options);
    stream.once('end', () => {
      probe.dataSent = true;
    });
    return stream;
  };
}

/**
 * The login part of the transport options: AUTH PLAIN/LOGIN with a password, or XOAUTH2 with a token from the
 * tenant's identity provider, asked for on every new connection (`renew` after the server refused a token with
 * 334 then 535; nodemailer then tries AUTH once more).
 */
function smtpAuthOptions(target: SmtpTarget, onToken?: (token: AccessToken) => void): Partial<SMTPTransportOptions> {
  const auth = target.auth;
  if (!auth) return {};
  if (auth.type !== 'oauth2') return { auth: { user: auth.user, pass: auth.pass }, forceAuth: true };
  return {
    auth: {
      type: 'OAuth2',
      user: auth.user,
      provisionCallback: (_user, renew, done) => {
        auth.tokens.getToken(renew).then(
          (t) => {
            onToken?.(t);
            done(null, t.accessToken, t.renewAt);
          },
          // withOAuth2Token asks again outside nodemailer, which reports the identity provider's own error.
          () => done(new Error('No access token')),
        );
      },
    },
    forceAuth: true,
  };
}

/** Node's default trust store; passing `ca` replaces it, so an extra CA has to be added to it. */
function defaultCaCertificates(): readonly string[] {
  // tls.getCACertificates('default') (Node >= 22.15) also holds NODE_EXTRA_CA_CERTS and --use-system-ca.
  const getCa = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  return typeof getCa === 'function' ? getCa('default') : tls.rootCertificates;
}
