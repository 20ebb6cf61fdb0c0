import { TestBed, type ComponentFixture } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import type { MeView } from '@mailpage/contract';
import { describe, expect, it } from 'vitest';
import { FakeApi, fakeProviders, settle, texts } from '../../testing/fakes';
import { AdminPage } from './admin-page';

const ME: MeView = { accountId: 'bob', tenantId: 't', siteUrl: null, isSiteAdmin: false, canSend: true, local: false };

describe('global settings page', () => {
  let fixture: ComponentFixture<AdminPage>;
  const el = () => fixture.nativeElement as HTMLElement;

  async function render(api: FakeApi, tab = 'permissions') {
    TestBed.configureTestingModule({ imports: [AdminPage], providers: [...fakeProviders(api), provideRouter([])] });
    fixture = TestBed.createComponent(AdminPage);
    fixture.componentRef.setInput('tab', tab);
    await fixture.whenStable();
    await settle();
    await fixture.whenStable();
  }

  it('tells a user who is not a site admin that only a site admin can change the settings, and loads none of them', async () => {
    const api = new FakeApi().on('GET', '/api/me', ME);
    await render(api);
    expect(el().querySelector('[data-not-admin]')!.textContent).toContain("Only a Confluence site admin can change Mailpage's settings.");
    expect(el().querySelector('[role="tablist"]')).toBeNull();
    expect(api.calls.map((c) => c.path)).toEqual(['/api/me']);
  });

  it('shows the tabs to a site admin, the outbox only in local mode, with the chosen tab open', async () => {
    const api = new FakeApi().on('GET', '/api/me', { ...ME, isSiteAdmin: true }).on('GET', '/api/permissions', { enabled: true, allowedGroups: [], enforceInAllSpaces: false });
    await render(api);
    expect(texts(el(), '[role="tab"]')).toEqual(['Mail server', 'Permissions', 'Recipients', 'Layout', 'Encryption', 'Audit log', 'Outbox (local)']);
    expect(el().querySelector('[role="tab"][aria-selected="true"]')!.textContent!.trim()).toBe('Permissions');
    expect(el().querySelector('[role="tabpanel"] form[data-permissions]')).not.toBeNull();
  });
});
