import type { EncryptionSettingsView } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { texts, type } from '../../testing/fakes';
import { setUpFormSpec } from '../../testing/form-spec-setup';
import { EncryptionForm } from './encryption-form';

const VIEW: EncryptionSettingsView = {
  policy: 'opportunistic',
  preferred: 'pgp',
  sign: true,
  protectedSubject: '[...]',
  pgpSigningKey: { fingerprint: 'abcdef0123456789abcdef0123456789abcdef01', emails: ['wiki@example.com'], expiresAt: null, passphraseSet: true },
  smimeSigningCert: null,
};

describe('encryption settings', () => {
  const spec = setUpFormSpec(EncryptionForm);
  const el = spec.el;
  const save = async () => {
    el().querySelector<HTMLButtonElement>('form > .actions button[type="submit"]')!.click();
    await spec.settled();
  };

  beforeEach(async () => {
    spec.api.on('GET', '/api/settings/encryption', VIEW).on('PUT', '/api/settings/encryption', VIEW);
    await spec.render();
  });

  it('shows the saved key by fingerprint and never sends a secret the admin did not give', async () => {
    expect(texts(el(), '[data-fingerprint]')).toEqual(['ABCD EF01 2345 6789 ABCD EF01 2345 6789 ABCD EF01']);
    await save();
    expect(spec.api.callsTo('PUT', '/api/settings/encryption')[0].body).toEqual({ policy: 'opportunistic', preferred: 'pgp', sign: true, protectedSubject: '[...]' });
  });

  it('sends a new private key with its passphrase, or null to remove the saved one', async () => {
    type(el().querySelector<HTMLTextAreaElement>('#enc-pgp-key')!, '-----BEGIN PGP PRIVATE KEY BLOCK-----');
    type(el().querySelector<HTMLInputElement>('#enc-pgp-pass')!, 'pass phrase');
    await save();
    expect(spec.api.callsTo('PUT', '/api/settings/encryption')[0].body).toMatchObject({ pgpSigningKey: { armored: '-----BEGIN PGP PRIVATE KEY BLOCK-----', passphrase: 'pass phrase' } });

    el().querySelector<HTMLInputElement>('#enc-pgp-remove')!.click();
    await save();
    expect(spec.api.callsTo('PUT', '/api/settings/encryption')[1].body).toMatchObject({ pgpSigningKey: null });
  });
});
