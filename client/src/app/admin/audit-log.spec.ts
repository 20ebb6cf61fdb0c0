import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { AuditEntry } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, fakeProviders, settle, type } from '../../testing/fakes';
import { AuditLog } from './audit-log';

const entry = (id: string, outcome: AuditEntry['outcome'] = 'sent'): AuditEntry => ({
  id,
  createdAt: '2026-11-20T10:00:00.000Z',
  finishedAt: '2026-11-20T10:00:01.000Z',
  accountId: 'alice',
  pageId: '163845',
  spaceKey: 'DOCS',
  recipientCount: 2,
  encryption: 'none',
  outcome,
  smtpCode: 250,
  errorCode: null,
  messageId: null,
  durationMs: 1200,
});

describe('audit log', () => {
  let api: FakeApi;
  let fixture: ComponentFixture<AuditLog>;
  const el = () => fixture.nativeElement as HTMLElement;
  const rows = () => el().querySelectorAll('tbody tr').length;
  const flush = async () => {
    await settle();
    await fixture.whenStable();
  };

  beforeEach(async () => {
    api = new FakeApi().on('GET', '/api/audit', (path: string) =>
      path.includes('cursor=c1') ? { entries: [entry('3', 'failed')], nextCursor: null } : { entries: [entry('1'), entry('2')], nextCursor: 'c1' },
    );
    TestBed.configureTestingModule({ imports: [AuditLog], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(AuditLog);
    await fixture.whenStable();
    await flush();
  });

  it('lists entries newest first and loads older ones with the cursor', async () => {
    expect(rows()).toBe(2);
    const older = [...el().querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.includes('Older entries'))!;
    older.click();
    await flush();
    expect(rows()).toBe(3);
    expect(api.calls.at(-1)!.path).toBe('/api/audit?limit=50&cursor=c1');
    expect([...el().querySelectorAll('button')].some((b) => b.textContent?.includes('Older entries'))).toBe(false);
  });

  it('sends the filters as query parameters', async () => {
    type(el().querySelector<HTMLInputElement>('#audit-space')!, 'DOCS');
    const outcome = el().querySelector<HTMLSelectElement>('#audit-outcome')!;
    outcome.value = 'failed';
    outcome.dispatchEvent(new Event('change'));
    el().querySelector<HTMLButtonElement>('form button[type="submit"]')!.click();
    await flush();
    expect(api.calls.at(-1)!.path).toBe('/api/audit?spaceKey=DOCS&outcome=failed&limit=50');
  });
});
