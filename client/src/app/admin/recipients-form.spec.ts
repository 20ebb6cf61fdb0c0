import type { RecipientPolicyView } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { key, texts, type } from '../../testing/fakes';
import { setUpFormSpec } from '../../testing/form-spec-setup';
import { RecipientsForm } from './recipients-form';

const VIEW: RecipientPolicyView = { allowedDomains: ['example.com'], blockedDomains: [], updatedAt: null };

describe('recipient rules form', () => {
  const spec = setUpFormSpec(RecipientsForm);
  const el = spec.el;
  const boxes = () => [...el().querySelectorAll<HTMLInputElement>('mp-chips-input input')];

  async function save() {
    el().querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
    await spec.settled();
  }

  beforeEach(() => {
    spec.api.on('GET', '/api/settings/recipients', VIEW);
  });

  it('adds allowed and blocked domains and saves what the service normalised', async () => {
    spec.api.on('PUT', '/api/settings/recipients', { allowedDomains: ['example.com', '.xn--bcher-kva.example'], blockedDomains: ['old.example.com'], updatedAt: '2026-11-01T00:00:00Z' });
    await spec.render();
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['example.com']);
    type(boxes()[0], '.bücher.example');
    key(boxes()[0], 'Enter');
    type(boxes()[1], 'old.example.com');
    key(boxes()[1], 'Enter');
    await spec.fixture.whenStable();
    await save();
    expect(spec.api.callsTo('PUT', '/api/settings/recipients')[0].body).toEqual({ allowedDomains: ['example.com', '.bücher.example'], blockedDomains: ['old.example.com'] });
    expect(texts(el(), 'li.chip .chip-text')).toEqual(['example.com', '.xn--bcher-kva.example', 'old.example.com']);
    expect(el().querySelector('[data-notice]')!.textContent).toContain('Saved.');
  });

  it('names an entry that is not a domain next to its list, without calling the service', async () => {
    await spec.render();
    type(boxes()[1], '*.example.com');
    key(boxes()[1], 'Enter');
    await spec.fixture.whenStable();
    await save();
    expect(spec.api.callsTo('PUT', '/api/settings/recipients')).toHaveLength(0);
    const blocked = boxes()[1].closest('.field')!;
    expect(blocked.querySelector('.field-error')!.textContent).toContain('"*.example.com" is not a domain');
  });
});
