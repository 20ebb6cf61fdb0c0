import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import * as tls from 'node:tls';
import { LRUCache } from 'lru-cache';
import nodemailer, { type SMTPTransportOptions, type Transporter } from 'nodemailer';
import type MimeNode from 'nodemailer/lib/mime-node';
import { DomainError } from '../../common/domain-error';
import { checkSmtpHost, type CheckedHost, type HostResolver } from './host-guard';
import { mapSmtpError } from './smtp-errors';
import type { SmtpEnvelope, SmtpSendResult, SmtpTarget } from './smtp.types';

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
}

interface PoolEntry {
  transporter: Transporter;
  inFlight: number;
  evicted: boolean;
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
export class SmtpPool implements OnApplicationShutdown {
  private readonly pools: LRUCache<string, PoolEntry>;
  private readonly probes = new WeakMap<object, SendProbe>();
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;

  constructor(@Inject(SMTP_POOL_OPTIONS) private readonly opts: SmtpPoolOptions) {
    this.pools = new LRUCache<string, PoolEntry>({
      max: Math.max(1, opts.maxPools),
      // An evicted pool finishes the sends it holds, then closes; closing earlier would fail them.
      dispose: (entry) => {
        entry.evicted = true;
        if (entry.inFlight === 0) entry.transporter.close();
      },
    });
  }

  /** Sends `raw` (a finished RFC 5322 message) to exactly the envelope recipients. */
  async send(target: SmtpTarget, envelope: SmtpEnvelope, raw: Buffer): Promise<SmtpSendResult> {
    const task = this.sendNow(target, envelope, raw);
    this.pending.add(task);
    try {
      return await task;
    } finally {
      this.pending.delete(task);
    }
  }

  /** Connects, starts TLS and logs in, on a connection of its own that is closed afterwards. */
  async verify(target: SmtpTarget): Promise<void> {
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
  }

  /** Closes every pool once its sends have finished; later sends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    this.pools.clear();
    await Promise.allSettled([...this.pending]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private async sendNow(target: SmtpTarget, envelope: SmtpEnvelope, raw: Buffer): Promise<SmtpSendResult> {
    this.refuseWhenClosed();
    const host = await this.checkHost(target);
    this.refuseWhenClosed();
    const entry = this.poolFor(target, host);
    // A view of its own gives this send an identity the stream plugin can find its probe by.
    const message = raw.subarray(0);
    const probe: SendProbe = { dataSent: false };
    this.probes.set(message, probe);
    entry.inFlight++;
    try {
      const info = await entry.transporter.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw: message });
      const code = /^(\d{3})/.exec(String(info.response ?? ''));
      return {
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
        code: code ? Number(code[1]) : null,
      };
    } catch (err) {
      throw mapSmtpError(err, target, probe.dataSent ? 'data-sent' : 'before-data');
    } finally {
      entry.inFlight--;
      if (entry.evicted && entry.inFlight === 0) entry.transporter.close();
    }
  }

  private poolFor(target: SmtpTarget, host: CheckedHost): PoolEntry {
    // The fingerprint keeps a caller that reuses a key after a settings change off the old server and login.
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([target.host, target.port, target.security, target.auth?.user, target.auth?.pass, target.trustedCa ?? null]))
      .digest('base64url');
    const key = `${target.key}\u0000${host.ip}\u0000${fingerprint}`;
    const existing = this.pools.get(key);
    if (existing) return existing;
    const transporter = nodemailer.createTransport({
      ...this.transportOptions(target, host),
      pool: true,
      maxConnections: 3,
      maxMessages: 100,
    });
    transporter.use('stream', (mail, done) => {
      const probe = this.probes.get(mail.data.raw as object);
      if (probe) watchDataSent(mail.message, probe);
      done();
    });
    const entry: PoolEntry = { transporter, inFlight: 0, evicted: false };
    this.pools.set(key, entry);
    return entry;
  }

  private transportOptions(target: SmtpTarget, host: CheckedHost): SMTPTransportOptions {
    return {
      host: host.ip,
      port: target.port,
      secure: target.security === 'tls',
      requireTLS: target.security === 'starttls',
      ignoreTLS: target.security === 'none',
      opportunisticTLS: false,
      // Configured credentials are always used: a server that does not offer AUTH fails loudly instead of
      // receiving unauthenticated mail.
      ...(target.auth ? { auth: { user: target.auth.user, pass: target.auth.pass }, forceAuth: true } : {}),
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
      allowPrivateHosts: this.opts.allowPrivateHosts,
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

/** Node's default trust store; passing `ca` replaces it, so an extra CA has to be added to it. */
function defaultCaCertificates(): readonly string[] {
  // tls.getCACertificates('default') (Node >= 22.15) also holds NODE_EXTRA_CA_CERTS and --use-system-ca.
  const getCa = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  return typeof getCa === 'function' ? getCa('default') : tls.rootCertificates;
}
