import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { MeView, PageAttachment } from '@mailpage/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeApi, fakeProviders, key, settle, texts, type } from '../../testing/fakes';
import { POLL_INTERVAL_MS, SendPage, withImagePlaceholders } from './send-page';

const ME: MeView = { accountId: 'alice', tenantId: 't', siteUrl: null, isSiteAdmin: false, canSend: true, local: false };
const ATTACHMENTS: PageAttachment[] = [{ id: 'att1', filename: 'plan.pdf', mediaType: 'application/pdf', size: 2048 }];
const SENT = { sendId: 's1', messageId: '<m1@example.com>', accepted: ['ann@example.com', 'hidden@example.com'], rejected: [], encryption: 'none' };

describe('send dialog', () => {
  let api: FakeApi;
  let fixture: ComponentFixture<SendPage>;
  const el = () => fixture.nativeElement as HTMLElement;
  const pickers = () => [...el().querySelectorAll<HTMLInputElement>('input[role="combobox"]')];
  const sendButton = () => el().querySelector<HTMLButtonElement>('button[data-send]')!;

  async function render(pageId = '1001') {
    TestBed.configureTestingModule({ imports: [SendPage], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(SendPage);
    fixture.componentRef.setInput('pageId', pageId);
    fixture.componentRef.setInput('spaceKey', 'DOCS');
    await fixture.whenStable();
    await fixture.whenStable();
  }

  async function add(field: 0 | 1 | 2, text: string) {
    const input = pickers()[field];
    type(input, text);
    key(input, 'Enter');
    await fixture.whenStable();
  }

  async function clickSend() {
    sendButton().click();
    await fixture.whenStable();
  }

  beforeEach(() => {
    api = new FakeApi().on('GET', '/api/me', ME).on('GET', '/api/pages/1001/attachments', ATTACHMENTS).on('GET', '/api/recipients', []);
  });
  afterEach(() => vi.useRealTimers());

  it('sends the page id, space, recipients, chosen attachments and encryption, and names who got it', async () => {
    api.on('POST', '/api/mail/send', SENT);
    await render();
    expect(api.callsTo('GET', '/api/me')[0].path).toBe('/api/me?spaceKey=DOCS');
    await add(0, 'Ann <ann@example.com>');
    await add(2, 'hidden@example.com');
    el().querySelector<HTMLInputElement>('input[data-attachment="att1"]')!.click();
    await clickSend();
    const [call] = api.callsTo('POST', '/api/mail/send');
    expect(call.body).toEqual({ pageId: '1001', spaceKey: 'DOCS', to: ['"Ann" <ann@example.com>'], cc: [], bcc: ['hidden@example.com'], attachmentIds: ['att1'], encryption: 'auto' });
    expect(call.headers?.['Idempotency-Key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(texts(el(), '[data-result] .banner').join(' ')).toContain('Accepted: ann@example.com, hidden@example.com');
  });

  it('sends once when Send is clicked twice, with the button disabled while sending', async () => {
    let finish!: (v: unknown) => void;
    api.on('POST', '/api/mail/send', () => new Promise((r) => (finish = r)));
    await render();
    await add(0, 'ann@example.com');
    await clickSend();
    expect(sendButton().disabled).toBe(true);
    expect(sendButton().textContent).toContain('Sending…');
    await fixture.componentInstance.send();
    expect(api.callsTo('POST', '/api/mail/send')).toHaveLength(1);
    finish(SENT);
    await settle();
    await fixture.whenStable();
    expect(sendButton().disabled).toBe(false);
  });

  it('keeps the idempotency key for the same dialog state, and takes a new one when the mail changes', async () => {
    api.fail('POST', '/api/mail/send', 'SMTP_CONNECT_FAILED', 'The mail server at smtp.example.com:587 refused the connection. The message was not sent.', undefined, 502);
    await render();
    await add(0, 'ann@example.com');
    await clickSend();
    await clickSend();
    await add(1, 'cid@example.com');
    await clickSend();
    const keys = api.callsTo('POST', '/api/mail/send').map((c) => c.headers?.['Idempotency-Key']);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it("shows the service's sentence about a recipient next to that field, and keeps everything typed", async () => {
    api.fail('POST', '/api/mail/send', 'VALIDATION_FAILED', 'Some recipients are not valid: cc[0] "x@y.zz" is refused by policy.', {
      recipients: ['cc[0] "x@y.zz" is refused by policy'],
    });
    await render();
    await add(0, 'ann@example.com');
    await add(1, 'x@y.zz');
    type(pickers()[2], 'half typed');
    await clickSend();
    // Text left in a box that is not an address stops the send first, with its reason.
    expect(api.callsTo('POST', '/api/mail/send')).toHaveLength(0);
    expect(texts(el(), '.field-error').join(' ')).toContain('"half typed" must be exactly one address');
    type(pickers()[2], '');
    await clickSend();
    expect(api.callsTo('POST', '/api/mail/send')).toHaveLength(1);

    const ccField = pickers()[1].closest('.field')!;
    expect(texts(ccField as HTMLElement, '.field-error')).toEqual(['cc[0] "x@y.zz" is refused by policy']);
    expect(pickers()[1].getAttribute('aria-invalid')).toBe('true');
    expect(texts(pickers()[0].closest('.field') as HTMLElement, '.field-error')).toEqual([]);
    expect(texts(el(), '[data-form-error]').join(' ')).toContain('Some recipients are not valid');
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['ann@example.com', 'x@y.zz']);
  });

  it('shows a too-large mail next to the attachments and takes the limit the service names', async () => {
    api.fail('POST', '/api/mail/send', 'MAIL_TOO_LARGE', 'The mail would be 12.1 MB, over the limit of 10 MB; leave out some attachments or images.', { size: 12.1 * 1024 * 1024, limit: 10 * 1024 * 1024 }, 413);
    await render();
    await add(0, 'ann@example.com');
    await clickSend();
    await fixture.whenStable();
    const att = el().querySelector('mp-attachment-list')!;
    expect(att.textContent).toContain('The mail would be 12.1 MB, over the limit of 10 MB');
    expect(att.textContent).toContain('The mail size limit is 10 MB.');
    expect(el().querySelector('[data-form-error]')).toBeNull();
  });

  it('polls a send that answered 202 until it is no longer sending', async () => {
    let polls = 0;
    api.on('POST', '/api/mail/send', { sendId: 'abc', status: 'sending' });
    api.on('GET', '/api/mail/sends/abc', () => {
      polls += 1;
      return { sendId: 'abc', status: polls < 2 ? 'sending' : 'sent', messageId: '<m@x>', recipientCount: 2, acceptedCount: 2, rejectedCount: 0, errorCode: null, createdAt: '', finishedAt: '' };
    });
    await render();
    await add(0, 'ann@example.com');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    sendButton().click();
    for (let i = 0; i < 5; i++) await Promise.resolve();
    fixture.detectChanges();
    expect(texts(el(), '[data-result]').join(' ')).toContain('Sending…');
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    expect(polls).toBe(1);
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    fixture.detectChanges();
    expect(polls).toBe(2);
    expect(texts(el(), '[data-result]').join(' ')).toContain('2 of 2 recipients accepted.');
  });

  it('tells a user who may not send why, instead of the form', async () => {
    api.on('GET', '/api/me', { ...ME, canSend: false, cannotSendReason: 'Only members of "writers" may send pages as mail on this site.' });
    await render();
    expect(el().querySelector('[data-cannot-send]')!.textContent).toContain('Only members of "writers" may send pages as mail on this site.');
    expect(pickers()).toHaveLength(0);
  });

  it('shows the preview in a sandboxed frame with subject, size and key status when the service sends it', async () => {
    api.on('POST', '/api/mail/preview', {
      subject: '[Wiki] Plan',
      html: '<p>Hello</p>',
      text: 'Hello',
      size: 5120,
      attachments: [],
      recipients: { to: ['ann@example.com'], cc: [], bcc: [] },
      keyStatus: [{ address: 'ann@example.com', pgp: true, smime: false }],
      encryption: 'pgp',
    });
    await render();
    await add(0, 'ann@example.com');
    el().querySelectorAll<HTMLButtonElement>('.actions button')[0].click();
    await fixture.whenStable();
    const preview = el().querySelector('[data-preview]')!;
    expect(preview.querySelector('[data-subject]')!.textContent).toBe('[Wiki] Plan');
    expect(preview.textContent).toContain('5 KB');
    const frame = preview.querySelector('iframe')!;
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('srcdoc')).toBe('<p>Hello</p>');
    expect(texts(preview as HTMLElement, 'tbody tr')).toEqual(['ann@example.comYesNo']);
    expect(preview.querySelector('[data-encryption]')!.textContent).toBe('PGP-encrypted');
  });

  it("shows why the chosen encryption cannot be met next to the encryption choice", async () => {
    api.on('POST', '/api/mail/preview', {
      subject: 'S',
      html: '<p>x</p>',
      text: 'x',
      size: 10,
      attachments: [],
      recipients: { to: ['ann@example.com'], cc: [], bcc: [] },
      keyStatus: [{ address: 'ann@example.com', pgp: false, smime: false }],
      encryption: 'none',
      encryptionProblem: 'No PGP key is on file for ann@example.com; the mail cannot be encrypted for them.',
    });
    await render();
    await add(0, 'ann@example.com');
    await fixture.componentInstance.showPreview();
    await fixture.whenStable();
    const field = el().querySelector('#send-encryption')!.closest('.field')!;
    expect(field.querySelector('[data-encryption-problem]')!.textContent).toContain('No PGP key is on file for ann@example.com');
  });

  it('shows a preview without key status when the service does not send one', async () => {
    api.on('POST', '/api/mail/preview', { subject: 'S', html: '<p>x</p>', text: 'x', size: 10, attachments: [], recipients: { to: ['ann@example.com'], cc: [], bcc: [] } });
    await render();
    await add(0, 'ann@example.com');
    await fixture.componentInstance.showPreview();
    await fixture.whenStable();
    expect(el().querySelector('[data-preview] table')).toBeNull();
    expect(el().querySelector('[data-preview] iframe')).not.toBeNull();
  });

  it('says what to do when no page was chosen', async () => {
    await render('');
    expect(el().textContent).toContain('No page chosen.');
    expect(api.callsTo('GET', '/api/me')).toHaveLength(0);
  });

  it('shows embedded images of the preview as placeholders, since the frame cannot load cid: parts', () => {
    const out = withImagePlaceholders('<p><img alt="chart" src="cid:abc@mailpage" width="10"><img src="data:image/png;base64,AA"></p>');
    expect(out).not.toContain('cid:');
    expect(out).toContain('alt="chart" src="data:image/svg+xml,');
    expect(out).toContain('src="data:image/png;base64,AA"');
  });

  it('sends the personal message and Reply-To me, and leaves both out when unused', async () => {
    api.on('POST', '/api/mail/send', SENT);
    await render();
    await add(0, 'ann@example.com');
    const message = el().querySelector<HTMLTextAreaElement>('textarea[data-message]')!;
    type(message, 'Hi team,\nplease read.');
    el().querySelector<HTMLInputElement>('input[data-reply-to-me]')!.click();
    await fixture.whenStable();
    expect(el().querySelector('#send-message-hint')!.textContent).toContain('1979 characters left');
    await clickSend();
    expect(api.callsTo('POST', '/api/mail/send')[0].body).toMatchObject({ message: 'Hi team,\nplease read.', replyToMe: true });
    type(message, '  ');
    el().querySelector<HTMLInputElement>('input[data-reply-to-me]')!.click();
    await fixture.whenStable();
    await clickSend();
    const second = api.callsTo('POST', '/api/mail/send')[1].body as Record<string, unknown>;
    expect('message' in second || 'replyToMe' in second).toBe(false);
  });

  it('says when the mail went out as several mails, and lists the group members it could not reach', async () => {
    api.on('POST', '/api/mail/send', {
      ...SENT,
      accepted: Array.from({ length: 150 }, (_, i) => `m${i}@example.com`),
      parts: [{ sendId: 's1' }, { sendId: 's2' }],
      skipped: [{ group: 'writers', accountId: 'carol', displayName: 'Carol Hidden', reason: 'hides their email address, and Confluence does not let the app read it' }],
    });
    await render();
    await add(0, 'ann@example.com');
    await clickSend();
    const result = texts(el(), '[data-result] .banner').join(' ');
    expect(result).toContain('Sent as 2 mails');
    expect(result).toContain('m19@example.com and 130 more');
    expect(texts(el(), '[data-skipped] li')).toEqual(['Carol Hidden (writers): hides their email address, and Confluence does not let the app read it']);
  });

  it('shows why Reply-To me cannot be used next to the box', async () => {
    api.fail('POST', '/api/mail/send', 'VALIDATION_FAILED', 'Reply-To me needs your email address, and Confluence does not share it with Mailpage; turn Reply-To me off.', {
      issues: [{ path: 'replyToMe', message: 'Confluence does not share your email address with Mailpage' }],
    });
    await render();
    await add(0, 'ann@example.com');
    el().querySelector<HTMLInputElement>('input[data-reply-to-me]')!.click();
    await clickSend();
    const box = el().querySelector('#send-reply-to-me')!.closest('.check')!;
    expect(box.querySelector('.field-error')!.textContent).toContain('turn Reply-To me off');
    expect(el().querySelector('[data-form-error]')).toBeNull();
  });

  it('shows the groups, the number of mails and who will be left out in the preview', async () => {
    api.on('POST', '/api/mail/preview', {
      subject: 'S',
      html: '<p>x</p>',
      text: 'x',
      size: 10,
      attachments: [],
      recipients: { to: [], cc: [], bcc: Array.from({ length: 249 }, (_, i) => `m${i}@example.com`) },
      groups: [{ field: 'bcc', name: 'everyone', members: 250, included: 249 }],
      skipped: [{ group: 'everyone', accountId: 'carol', displayName: 'Carol Hidden', reason: 'hides their email address' }],
      parts: 3,
      replyTo: 'alice@example.com',
    });
    await render();
    await add(0, 'ann@example.com');
    await fixture.componentInstance.showPreview();
    await fixture.whenStable();
    expect(texts(el(), '[data-preview] [data-group]')).toEqual(['250 members, 249 get this mail']);
    expect(el().querySelector('[data-preview] [data-parts]')!.textContent).toContain('3:');
    expect(el().querySelector('[data-preview] [data-reply-to]')!.textContent).toBe('alice@example.com');
    expect(texts(el(), '[data-preview] [data-skipped] li')).toEqual(['Carol Hidden (everyone): hides their email address']);
  });

  it('polls every mail of a split send that answered 202, and sums them up', async () => {
    api.on('POST', '/api/mail/send', { sendId: 'a', status: 'sending', sendIds: ['a', 'b'] });
    const view = (id: string, n: number) => ({ sendId: id, status: 'sent', messageId: `<${id}@x>`, recipientCount: n, acceptedCount: n, rejectedCount: 0, errorCode: null, createdAt: '', finishedAt: '' });
    api.on('GET', '/api/mail/sends/a', view('a', 100));
    api.on('GET', '/api/mail/sends/b', view('b', 50));
    await render();
    await add(0, 'ann@example.com');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    sendButton().click();
    for (let i = 0; i < 5; i++) await Promise.resolve();
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS * 2);
    fixture.detectChanges();
    expect(texts(el(), '[data-result]').join(' ')).toContain('150 of 150 recipients accepted.');
  });
});
