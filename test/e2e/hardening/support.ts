import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { apiClient, bearer, type ApiResponse } from '../../support/api';
import { useSmtpServer } from '../../support/reliability';
import { startServer, type RunningServer } from '../../support/server';
import { startTestSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from '../../support/smtp';

export type Api = ReturnType<typeof apiClient>;

export interface Rig {
  server: RunningServer;
  smtp: TestSmtpServer;
  api: Api;
  stop(): Promise<void>;
}

/** 1 MiB mails keep the size cases fast; the limits scale with MAIL_MAX_BYTES (request limit: 1.4 × it + 1 MiB). */
export const MAIL_MAX_BYTES = 1024 * 1024;
export const REQUEST_MAX_BYTES = Math.ceil(MAIL_MAX_BYTES * 1.4) + 1024 * 1024;

/**
 * The built server in local mode, pointed at a plain smtp-server of the test's (test/support/smtp.ts) that counts
 * every message it receives in full. Rate limits are lifted: a file sends more than 30 mails a minute.
 */
export async function startRig(env: Record<string, string> = {}, smtpOptions: TestSmtpServerOptions = {}): Promise<Rig> {
  const smtp = await startTestSmtpServer(smtpOptions);
  const server = await startServer({
    MAIL_MAX_BYTES: String(MAIL_MAX_BYTES),
    SEND_RATE_LIMIT_PER_USER: '100000',
    SEND_RATE_LIMIT_PER_TENANT: '100000',
    ...env,
  });
  const api = apiClient(server.url, bearer(server.localToken));
  await useSmtpServer(api, smtp.port);
  return {
    server,
    smtp,
    api,
    stop: async () => {
      await server.stop();
      await smtp.close();
    },
  };
}

/** A refused request: the status, our error shape, a sentence that names what is wrong, and nothing at the mail server. */
export function expectRefused(r: ApiResponse, status: number, code: string, message: RegExp, smtp?: TestSmtpServer, receivedBefore = 0): void {
  expect(r.status, r.text).toBe(status);
  expect(Object.keys(r.body ?? {}).filter((k) => k !== 'details'), r.text).toEqual(['code', 'message']);
  expect(r.body.code, r.text).toBe(code);
  expect(r.body.message, r.text).toMatch(message);
  if (smtp) expect(smtp.messagesReceived, 'the SMTP server received a message').toBe(receivedBefore);
}

export interface Part {
  name: string;
  value?: string | Buffer;
  /** A file part: `filename="…"` (as given, not escaped) and/or `filename*=…` (RFC 5987, written as given). */
  filename?: string;
  filenameStar?: string;
  contentType?: string;
}

/** A multipart/form-data body written byte by byte, so a test can send what FormData would never produce. */
export function multipart(parts: Part[], boundary = `----mailpage-${Math.random().toString(36).slice(2)}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let disposition = `form-data; name="${p.name}"`;
    if (p.filename !== undefined) disposition += `; filename="${p.filename}"`;
    if (p.filenameStar !== undefined) disposition += `; filename*=${p.filenameStar}`;
    const headers = [`Content-Disposition: ${disposition}`];
    if (p.contentType) headers.push(`Content-Type: ${p.contentType}`);
    chunks.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'utf8'), Buffer.from(p.value ?? ''), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** POSTs raw bytes with a content type of the test's choosing; answers like the API client. */
export async function postRaw(rig: Pick<Rig, 'server'>, path: string, body: Buffer | string | ReadableStream, contentType: string | null, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await fetch(`${rig.server.url}${path}`, {
    method: 'POST',
    headers: { ...bearer(rig.server.localToken), ...(contentType ? { 'content-type': contentType } : {}), ...headers },
    body,
    // A stream goes out chunked (no Content-Length); fetch wants to be told that the response may come before its end.
    ...(typeof body === 'object' && !Buffer.isBuffer(body) ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

export interface WireTap {
  port: number;
  /** Every byte the client sent, per connection, in order. */
  readonly sent: Buffer[];
  close(): Promise<void>;
}

/**
 * A TCP relay in front of an SMTP server that records the bytes the client puts on the wire: what a relay
 * downstream would parse, before any dot-unstuffing.
 */
export async function startWireTap(targetPort: number): Promise<WireTap> {
  const sent: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const index = sent.push(Buffer.alloc(0)) - 1;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => {
      sent[index] = Buffer.concat([sent[index], d]);
      upstream.write(d);
    });
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The DATA section of a recorded SMTP session: from after the 354 go-ahead's request to the final dot, inclusive. */
export function dataSections(session: Buffer): Buffer[] {
  const text = session.toString('latin1');
  const out: Buffer[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('DATA\r\n', from);
    if (start < 0) return out;
    const end = text.indexOf('\r\n.\r\n', start);
    if (end < 0) return out;
    out.push(Buffer.from(text.slice(start + 6, end + 5), 'latin1'));
    from = end + 5;
  }
}

/** Only CRLF line ends, and no line of a lone "." but the final one: what a downstream relay cannot misread. */
export function smugglingProblems(data: Buffer): string[] {
  const text = data.toString('latin1');
  const problems: string[] = [];
  if (/\r(?!\n)/.test(text)) problems.push('a bare CR');
  if (/(?<!\r)\n/.test(text)) problems.push('a bare LF');
  const lines = text.split('\r\n');
  // The text ends with "\r\n.\r\n": the last two entries are "." and "".
  const loneDots = lines.slice(0, -2).filter((l) => l === '.').length;
  if (loneDots) problems.push(`${loneDots} line(s) of a lone "." before the end`);
  if (lines.at(-2) !== '.' || lines.at(-1) !== '') problems.push('no final dot');
  return problems;
}

/**
 * A CA certificate of its own (openssl), unrelated to test/support/tls.ts's: valid now, or valid only in January 2020
 * (`openssl ca` can set past dates where `openssl req` cannot).
 */
export function makeCa(name: string, opts: { expired?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'mailpage-ca-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key'];
    if (!opts.expired) {
      run('req', '-x509', ...ec, '-out', 'ca.pem', '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    } else {
      writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n[ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n');
      writeFileSync(join(dir, 'index.txt'), '');
      writeFileSync(join(dir, 'serial'), '01\n');
      run('req', '-new', ...ec, '-out', 'ca.csr', '-subj', `/CN=${name}`);
      run('ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'ca.key', '-in', 'ca.csr', '-out', 'ca.pem', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extensions', 'ext', '-notext');
    }
    return readFileSync(join(dir, 'ca.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
