import { beforeEach, describe, expect, it } from 'vitest';
import { key, texts, type } from '../../testing/fakes';
import { setUpFormSpec } from '../../testing/form-spec-setup';
import { PermissionsForm } from './permissions-form';

describe('global permissions', () => {
  const spec = setUpFormSpec(PermissionsForm);
  const el = spec.el;
  const box = () => el().querySelector<HTMLInputElement>('mp-chips-input input')!;

  beforeEach(async () => {
    spec.api.on('GET', '/api/permissions', { enabled: true, allowedGroups: ['writers'], enforceInAllSpaces: false });
    await spec.render();
  });

  it('adds groups as chips with Enter, removes the last with Backspace, refuses a duplicate, and saves', async () => {
    spec.api.on('PUT', '/api/permissions', (_p: string, body: unknown) => body);
    type(box(), 'marketing');
    key(box(), 'Enter');
    type(box(), 'Writers');
    key(box(), 'Enter');
    await spec.fixture.whenStable();
    expect(texts(el(), '.field-error')).toEqual(['"Writers" is already in the list.']);
    type(box(), '');
    key(box(), 'Backspace');
    type(box(), 'design');
    key(box(), ',');
    await spec.fixture.whenStable();
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['writers', 'design']);
    el().querySelector<HTMLInputElement>('#perm-enforce')!.click();
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
    expect(spec.api.callsTo('PUT', '/api/permissions')[0].body).toEqual({ enabled: true, enforceInAllSpaces: true, allowedGroups: ['writers', 'design'] });
  });

  it('shows a refused group name next to the groups and keeps the list', async () => {
    spec.api.fail('PUT', '/api/permissions', 'VALIDATION_FAILED', 'The request is not valid: allowedGroups.0: a group name is longer than 255 characters.', {
      issues: [{ path: 'allowedGroups.0', message: 'allowedGroups.0: a group name is longer than 255 characters' }],
    });
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
    expect(texts(el(), 'mp-chips-input .field-error')).toEqual(['allowedGroups.0: a group name is longer than 255 characters']);
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['writers']);
  });
});
