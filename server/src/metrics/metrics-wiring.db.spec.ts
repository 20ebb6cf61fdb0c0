import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFor, deadOrigin, startSandbox, type ConfluenceSandbox } from '../../../test/support/sandbox';
import { startTestSmtpServer, type TestSmtpServer } from '../../../test/support/smtp';
import { ConfluenceClient } from '../confluence/confluence.client';
import { SmtpPool } from '../mail/smtp/smtp-pool.service';
import type { SmtpTarget } from '../mail/smtp/smtp.types';
import { MetricsService } from './metrics.service';

async function series(m: MetricsService, name: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const line of (await m.render()).body.split('\n')) {
    if (line.startsWith(name)) found.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return found;
}

/** Every label value in the exposition (sample values are numbers and could contain any digits). */
async function labelValues(m: MetricsService): Promise<string[]> {
  return [...(await m.render()).body.matchAll(/\w+="([^"]*)"/g)].map((x) => x[1]);
}

const RAW = Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: Secret subject\r\n\r\nbody\r\n');

describe('SmtpPool reports to the metrics', () => {
  let smtp: TestSmtpServer;
  const metrics = new MetricsService();
  const pool = new SmtpPool({ allowPrivateHosts: true, connectionTimeoutMs: 2000, greetingTimeoutMs: 2000, socketTimeoutMs: 3000, maxPools: 10, retry: { attempts: 1 } }, metrics);
  const target = (port: number, key: string): SmtpTarget => ({ key, host: '127.0.0.1', port, security: 'none', auth: null });

  beforeAll(async () => {
    smtp = await startTestSmtpServer({ rejectRecipients: ['gone@example.com'] });
  });
  afterAll(async () => {
    await pool.close();
    await smtp?.close();
  });

  it('counts each failed send by its error code and the pools it keeps open', async () => {
    await pool.send(target(smtp.port, 'tenant-a:1'), { from: 'a@example.com', to: ['b@example.com'] }, RAW);
    const closed = Number(new URL(await deadOrigin()).port);
    await expect(pool.send(target(closed, 'tenant-b:1'), { from: 'a@example.com', to: ['b@example.com'] }, RAW)).rejects.toMatchObject({ code: 'SMTP_CONNECT_FAILED' });
    await expect(pool.send(target(smtp.port, 'tenant-a:1'), { from: 'a@example.com', to: ['gone@example.com'] }, RAW)).rejects.toMatchObject({ code: 'SMTP_RECIPIENT_REJECTED' });
    expect(Object.fromEntries(await series(metrics, 'mailpage_smtp_errors_total{'))).toEqual({
      'mailpage_smtp_errors_total{code="SMTP_CONNECT_FAILED"}': 1,
      'mailpage_smtp_errors_total{code="SMTP_RECIPIENT_REJECTED"}': 1,
    });
    expect((await series(metrics, 'mailpage_smtp_pools_open')).get('mailpage_smtp_pools_open')).toBe(2);
    const labels = (await labelValues(metrics)).join('\n');
    for (const secret of ['gone@example.com', 'tenant-a', 'Secret subject', String(closed), '127.0.0.1']) expect(labels).not.toContain(secret);
    await pool.close();
    expect((await series(metrics, 'mailpage_smtp_pools_open')).get('mailpage_smtp_pools_open')).toBe(0);
  });
});

describe('ConfluenceClient reports to the metrics', () => {
  let sandbox: ConfluenceSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('times each call under the name of its endpoint, never its ids', async () => {
    const metrics = new MetricsService();
    const client = new ConfluenceClient(metrics);
    const auth = authFor(sandbox, 'alice');
    const page = await client.getPageForMail(auth, '163845', { maxBytes: 10_000_000 });
    await client.listAttachments(auth, '163845');
    await client.downloadAttachment(auth, '163845', 'att163848', 10_000_000);
    await client.getGroups(auth);
    const counts = await series(metrics, 'mailpage_confluence_request_duration_seconds_count');
    const endpoints = [...counts.keys()].map((k) => /endpoint="([^"]+)"/.exec(k)![1]);
    expect(endpoints).toEqual(expect.arrayContaining(['page', 'space', 'attachments', 'attachment', 'attachment_download', 'groups']));
    expect(counts.get('mailpage_confluence_request_duration_seconds_count{endpoint="page"}')).toBe(1);
    expect(endpoints).not.toContain('other');
    const labels = (await labelValues(metrics)).join('\n');
    for (const secret of ['163845', 'att163848', 'alice', page.title]) expect(labels).not.toContain(secret);
  });

  it('times a call Confluence never answers too', async () => {
    const metrics = new MetricsService();
    const client = new ConfluenceClient(metrics);
    await expect(client.listAttachments(authFor(sandbox, 'alice', { apiBaseUrl: await deadOrigin() }), '163845')).rejects.toMatchObject({ code: 'CONFLUENCE_UNAVAILABLE' });
    expect((await series(metrics, 'mailpage_confluence_request_duration_seconds_count')).get('mailpage_confluence_request_duration_seconds_count{endpoint="attachments"}')).toBe(1);
  });
});
