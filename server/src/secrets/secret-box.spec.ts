import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/app-config';
import { SecretBox } from './secret-box';

const box = (keys: { id: string; key: Buffer }[]) => new SecretBox({ secretKeys: keys } as unknown as AppConfig);
const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

describe('SecretBox', () => {
  it('opens what it sealed, and the sealed text does not contain the secret', () => {
    const b = box([k1]);
    const sealed = b.seal('hunter2-very-secret', 't1', 'smtp.password');
    expect(sealed).not.toContain('hunter2');
    expect(sealed.startsWith('mp1.k1.')).toBe(true);
    expect(b.open(sealed, 't1', 'smtp.password')).toBe('hunter2-very-secret');
  });

  it('uses a fresh nonce for every value', () => {
    const b = box([k1]);
    expect(b.seal('same', 't1', 'f')).not.toBe(b.seal('same', 't1', 'f'));
  });

  it('refuses a value moved to another tenant or field', () => {
    const b = box([k1]);
    const sealed = b.seal('secret', 't1', 'smtp.password');
    expect(() => b.open(sealed, 't2', 'smtp.password')).toThrow();
    expect(() => b.open(sealed, 't1', 'pgp.passphrase')).toThrow();
  });

  it('refuses a tampered value', () => {
    const b = box([k1]);
    const sealed = b.seal('secret', 't1', 'f');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3], 'base64url');
    ct[0] ^= 1;
    parts[3] = ct.toString('base64url');
    expect(() => b.open(parts.join('.'), 't1', 'f')).toThrow();
  });

  it('reads values sealed under an old key after rotation, and seals new ones under the new key', () => {
    const sealedOld = box([k1]).seal('secret', 't1', 'f');
    const rotated = box([k2, k1]);
    expect(rotated.open(sealedOld, 't1', 'f')).toBe('secret');
    expect(rotated.keyIdOf(rotated.seal('x', 't1', 'f'))).toBe('k2');
    expect(() => box([k2]).open(sealedOld, 't1', 'f')).toThrow(/k1/);
  });
});
