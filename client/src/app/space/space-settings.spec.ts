import type { SpacePermissionsView } from '@mailpage/contract';
import { describe, expect, it } from 'vitest';
import { key, texts, type } from '../../testing/fakes';
import { setUpFormSpec } from '../../testing/form-spec-setup';
import { SpaceSettings } from './space-settings';

const VIEW: SpacePermissionsView = { spaceKey: 'DOCS', enabled: true, allowedGroups: ['writers'], enforcedGlobally: false, editable: true };

describe('space settings', () => {
  const spec = setUpFormSpec(SpaceSettings, { spaceKey: 'DOCS' });
  const el = spec.el;

  async function render(view: SpacePermissionsView) {
    spec.api.on('GET', '/api/spaces/DOCS/permissions', view);
    await spec.render();
  }

  it("lets a space admin add a group and saves the space's rule", async () => {
    spec.api.on('PUT', '/api/spaces/DOCS/permissions', (_p: string, body: unknown) => ({ ...VIEW, ...(body as object) }));
    await render(VIEW);
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['writers']);
    const box = el().querySelector<HTMLInputElement>('mp-chips-input input')!;
    type(box, 'marketing');
    key(box, 'Enter');
    await spec.fixture.whenStable();
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
    expect(spec.api.callsTo('PUT', '/api/spaces/DOCS/permissions')[0].body).toEqual({ enabled: true, allowedGroups: ['writers', 'marketing'] });
    expect(el().textContent).toContain('Saved.');
  });

  it("explains that the site admin's rule applies and disables the form", async () => {
    await render({ ...VIEW, enforcedGlobally: true, editable: false });
    expect(el().querySelector('[data-enforced]')!.textContent).toContain("The site admin's rule applies in all spaces.");
    expect(el().querySelector('fieldset')!.disabled).toBe(true);
    expect(el().querySelector('button[type="submit"]')).toBeNull();
  });

  it('says only space admins can change it when the user may not', async () => {
    await render({ ...VIEW, editable: false });
    expect(el().querySelector('[data-not-editable]')!.textContent).toContain('Only admins of this space can change this.');
    expect(el().querySelector('fieldset')!.disabled).toBe(true);
  });
});
