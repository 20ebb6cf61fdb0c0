import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PAGES, makePng } from '../../server/src/local/sandbox/demo-site';
import { apiClient, bearer } from '../support/api';
import { Gpg, pgpKey } from '../support/crypto';
import { startServer, type RunningServer } from '../support/server';

/** Threads of a process now (Linux): a render worker is one more. */
const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** Content ids are random per render; everything else of a preview is the same wherever the page was rendered. */
const comparable = (body: Record<string, unknown>) =>
  JSON.parse(
    JSON.stringify(body)
      .replace(/cid:[^"\\]+/g, 'cid:*')
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:*'),
  );

/**
 * Pages are rendered on worker threads (COMPOSE_WORKERS, default: the CPUs, at most 4). The same page must come out
 * the same as on the event loop (COMPOSE_WORKERS=0), refusals included, and several sends at once use several threads.
 */
describe('rendering pages on worker threads', () => {
  let pooled: RunningServer;
  let inline: RunningServer;
  const session = async (server: RunningServer, accountId = 'alice') => {
    const r = await fetch(`${server.url}/api/local/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
    return apiClient(server.url, ((await r.json()) as { headers: Record<string, string> }).headers);
  };

  beforeAll(async () => {
    // 1 MB mails, so that an image can be too large for one.
    [pooled, inline] = await Promise.all([startServer({ COMPOSE_WORKERS: '2', MAIL_MAX_BYTES: '1048576' }), startServer({ COMPOSE_WORKERS: '0', MAIL_MAX_BYTES: '1048576' })]);
  });
  afterAll(async () => {
    await Promise.all([pooled?.stop(), inline?.stop()]);
  });

  it('renders every demo page exactly as the event loop does: HTML, text, images and sizes', async () => {
    const [a, b] = await Promise.all([session(pooled), session(inline)]);
    let compared = 0;
    for (const page of DEMO_PAGES) {
      const body = { pageId: page.id, spaceKey: page.spaceId === '163841' ? 'DOCS' : 'ENG', to: ['reader@example.org'] };
      const [x, y] = await Promise.all([a.post('/api/mail/preview', body), b.post('/api/mail/preview', body)]);
      expect(x.status, `${page.title}: ${x.text}`).toBe(y.status);
      expect(comparable(x.body), page.title).toEqual(comparable(y.body));
      if (x.status === 200) compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(3);
  });

  it('refuses a page the same way: an image too large for the mail, a subject with a line break', async () => {
    const [a, b] = await Promise.all([apiClient(pooled.url, bearer(pooled.localToken)), apiClient(inline.url, bearer(inline.localToken))]);
    // Noise does not compress: about 1.3 MB however the image is encoded.
    const noise = randomBytes(700 * 600 * 3);
    const big = makePng(700, 600, (x, y) => [noise[(y * 700 + x) * 3], noise[(y * 700 + x) * 3 + 1], noise[(y * 700 + x) * 3 + 2]]);
    const cases = [
      { body: { title: 'Big', html: `<p>x</p><img src="data:image/png;base64,${big.toString('base64')}">`, to: ['a@example.org'] }, code: 'MAIL_TOO_LARGE' },
      { body: { title: 'Line\nbreak', html: '<p>x</p>', to: ['a@example.org'] }, code: 'VALIDATION_FAILED' },
    ];
    for (const { body, code } of cases) {
      const [x, y] = await Promise.all([a.post('/api/mail/preview', body), b.post('/api/mail/preview', body)]);
      expect(x.body.code, x.text).toBe(code);
      expect({ status: x.status, body: x.body }).toEqual({ status: y.status, body: y.body });
    }
  });

  it('builds, signs and encrypts the mail on a worker thread as on the event loop: gpg decrypts and verifies both to the same page', async () => {
    const sender = (await apiClient(pooled.url, bearer(pooled.localToken)).get('/api/settings/mail')).body.senderAddress as string;
    const [reader, signer] = await Promise.all([pgpKey('reader@example.org'), pgpKey(sender)]);
    const gpg = new Gpg();
    try {
      gpg.importKey(reader.unlockedPrivateKey);
      gpg.importKey(signer.publicKey);
      const pages: { files: string[] }[] = [];
      for (const server of [pooled, inline]) {
        const admin = apiClient(server.url, bearer(server.localToken));
        expect((await admin.put('/api/settings/encryption/keys', { email: reader.email, kind: 'pgp', key: reader.publicKey })).status).toBe(200);
        const settings = await admin.put('/api/settings/encryption', { policy: 'opportunistic', preferred: 'pgp', sign: true, pgpSigningKey: { armored: signer.privateKey, passphrase: signer.passphrase } });
        expect(settings.status, settings.text).toBe(200);
        const sent = await admin.post('/api/mail/send', { pageId: '163845', spaceKey: 'DOCS', to: [reader.email], encryption: 'pgp' });
        expect(sent.status, sent.text).toBe(200);
        expect(sent.body.encryption).toBe('pgp');
        const outbox = (await admin.get('/api/local/outbox')).body as { id: string; envelope: { to: string[] } }[];
        const caught = outbox.filter((m) => m.envelope.to.includes(reader.email)).at(-1)!;
        const raw = Buffer.from(await (await fetch(`${server.url}/api/local/outbox/${caught.id}`, { headers: bearer(server.localToken) })).arrayBuffer());
        const armor = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(raw.toString())![0];
        const out = gpg.decrypt(armor);
        expect(out.code, out.stderr).toBe(0);
        expect(out.stderr).toContain(`VALIDSIG ${signer.fingerprint}`);
        // Boundaries, content ids, the Message-ID and the date differ from mail to mail; the page may not.
        const inner = await PostalMime.parse(out.stdout);
        const files = inner.attachments.map((a) => `${a.filename} ${a.mimeType} ${a.disposition} ${Buffer.from(a.content as ArrayBuffer).toString('base64')}`);
        pages.push(comparable({ subject: inner.subject, html: inner.html, text: inner.text, files }));
      }
      expect(pages[0].files.length).toBeGreaterThan(0);
      expect(pages[0]).toEqual(pages[1]);
    } finally {
      gpg.dispose();
    }
  });

  it('sends several pages at once on several threads, each mail delivered once, and starts no thread before it is needed', async () => {
    const fresh = await startServer({ COMPOSE_WORKERS: '2' });
    try {
      const before = threads(fresh.child.pid!);
      const alice = await session(fresh);
      const sends = await Promise.all(Array.from({ length: 8 }, (_, i) => alice.post('/api/mail/send', { pageId: '163845', spaceKey: 'DOCS', to: [`r${i}@example.org`] })));
      expect(sends.map((s) => s.status)).toEqual(Array(8).fill(200));
      const after = threads(fresh.child.pid!);
      expect(after - before).toBeGreaterThanOrEqual(2);
      const outbox = await apiClient(fresh.url, bearer(fresh.localToken)).get('/api/local/outbox');
      const delivered = (outbox.body as { envelope: { to: string[] } }[]).flatMap((m) => m.envelope.to).sort();
      expect(delivered).toEqual(Array.from({ length: 8 }, (_, i) => `r${i}@example.org`).sort());
      console.log(`[figures] 8 sends at once with COMPOSE_WORKERS=2: threads ${before} → ${after}, RSS ${(rss(fresh.child.pid!) / 1024).toFixed(0)} MB`);
    } finally {
      await fresh.stop();
    }
  });
});
