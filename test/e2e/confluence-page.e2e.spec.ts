import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bearer } from '../support/api';
import { startServer, type RunningServer } from '../support/server';

/**
 * Local mode end to end, the way the SPA works in it: a session for a sandbox user (a real Forge invocation token
 * from the sandbox), then a send that gives only the page id, attachment ids and Confluence users.
 */
describe('sending a Confluence page by id, in local mode', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server?.stop());

  const session = async (accountId: string) => {
    const r = await fetch(`${server.url}/api/local/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId }) });
    expect(r.status).toBe(200);
    return (await r.json()) as { headers: Record<string, string>; spaces: { key: string; pages: { id: string }[] }[] };
  };

  it('fetches the page, its images and the chosen attachment as the user, and resolves Confluence users', async () => {
    const s = await session('alice');
    expect(s.spaces.map((x) => x.key)).toEqual(['DOCS', 'ENG']);
    const api = apiClient(server.url, s.headers);
    const attachments = await api.get('/api/pages/163845/attachments');
    expect(attachments.status).toBe(200);
    const pdf = attachments.body.find((a: { filename: string }) => a.filename === 'handbook.pdf');
    expect(pdf).toMatchObject({ mediaType: 'application/pdf' });

    const suggestions = await api.get('/api/recipients?query=car');
    expect(suggestions.body).toEqual([{ accountId: 'carol', displayName: 'Carol Hidden', email: null }]);

    const sent = await api.post('/api/mail/send', { pageId: '163845', spaceKey: 'DOCS', to: [{ accountId: 'bob' }], bcc: [{ accountId: 'carol' }], attachmentIds: [pdf.id] });
    expect(sent.status).toBe(200);
    expect(sent.body.accepted).toEqual(['bob@example.com', 'carol@example.com']);

    const admin = apiClient(server.url, bearer(server.localToken));
    const outbox = await admin.get('/api/local/outbox');
    const caught = outbox.body[0];
    expect(caught.envelope.to).toEqual(['bob@example.com', 'carol@example.com']);
    const raw = await (await fetch(`${server.url}/api/local/outbox/${caught.id}`, { headers: bearer(server.localToken) })).arrayBuffer();
    const mail = await PostalMime.parse(raw);
    expect(mail.subject).toBe('[Mailpage] Getting started');
    const cids = [...mail.html!.matchAll(/src="cid:([^"]+)"/g)].map((m) => m[1]);
    expect(cids.length).toBeGreaterThanOrEqual(2);
    const contentIds = new Set(mail.attachments.map((a) => a.contentId?.replace(/^<|>$/g, '')));
    for (const cid of cids) expect(contentIds.has(cid)).toBe(true);
    const file = mail.attachments.find((a) => a.filename === 'handbook.pdf');
    expect(Buffer.from(file!.content as ArrayBuffer).subarray(0, 5).toString()).toBe('%PDF-');
    expect(new TextDecoder().decode(raw)).not.toMatch(/^bcc:/im);
  });

  it('refuses a page the user may not see, and sends nothing', async () => {
    const before = (await apiClient(server.url, bearer(server.localToken)).get('/api/local/outbox')).body.length;
    const alice = apiClient(server.url, (await session('alice')).headers);
    const r = await alice.post('/api/mail/send', { pageId: '196620', spaceKey: 'ENG', to: ['x@example.org'] });
    expect(r.status).toBe(404);
    expect((await apiClient(server.url, bearer(server.localToken)).get('/api/local/outbox')).body.length).toBe(before);
  });

  it('serves no session to a user the sandbox does not know', async () => {
    const r = await fetch(`${server.url}/api/local/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'mallory' }) });
    expect(r.status).toBe(404);
  });
});
