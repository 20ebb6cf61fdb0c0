import { TestBed, type ComponentFixture } from '@angular/core/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeApi, fakeProviders, key, settle, texts, type } from '../../testing/fakes';
import { PermissionsForm } from './permissions-form';

describe('global permissions', () => {
  let api: FakeApi;
  let fixture: ComponentFixture<PermissionsForm>;
  const el = () => fixture.nativeElement as HTMLElement;
  const box = () => el().querySelector<HTMLInputElement>('mp-chips-input input')!;

  beforeEach(async () => {
    api = new FakeApi().on('GET', '/api/permissions', { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    TestBed.configureTestingModule({ imports: [PermissionsForm], providers: fakeProviders(api) });
    fixture = TestBed.createComponent(PermissionsForm);
    await fixture.whenStable();
    await settle();
    await fixture.whenStable();
  });

  it('adds groups as chips with Enter, removes the last with Backspace, refuses a duplicate, and saves', async () => {
    api.on('PUT', '/api/permissions', (_p: string, body: unknown) => body);
    type(box(), 'marketing');
    key(box(), 'Enter');
    type(box(), 'Writers');
    key(box(), 'Enter');
    await fixture.whenStable();
    expect(texts(el(), '.field-error')).toEqual(['"Writers" is already in the list.']);
    type(box(), '');
    key(box(), 'Backspace');
    type(box(), 'design');
    key(box(), ',');
    await fixture.whenStable();
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['writers', 'design']);
    el().querySelector<HTMLInputElement>('#perm-enforce')!.click();
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await settle();
    await fixture.whenStable();
    expect(api.callsTo('PUT', '/api/permissions')[0].body).toEqual({ enabled: true, enforceInAllSpaces: true, allowedGroups: ['writers', 'design'] });
  });

  it('shows a refused group name next to the groups and keeps the list', async () => {
    api.fail('PUT', '/api/permissions', 'VALIDATION_FAILED', 'The request is not valid: allowedGroups.0: a group name is longer than 255 characters.', {
      issues: [{ path: 'allowedGroups.0', message: 'allowedGroups.0: a group name is longer than 255 characters' }],
    });
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await settle();
    await fixture.whenStable();
    expect(texts(el(), 'mp-chips-input .field-error')).toEqual(['allowedGroups.0: a group name is longer than 255 characters']);
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['writers']);
  });
});
