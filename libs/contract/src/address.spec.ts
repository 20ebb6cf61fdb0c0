import { describe, expect, it } from 'vitest';
import { formatMailbox, parseMailbox } from './address';

const ok = (input: string) => {
  const r = parseMailbox(input);
  if (!r.ok) throw new Error(`${input}: ${r.reason}`);
  return r.mailbox;
};
const reason = (input: string) => {
  const r = parseMailbox(input);
  if (r.ok) throw new Error(`${input} was accepted as ${JSON.stringify(r.mailbox)}`);
  return r.reason;
};

describe('recipient addresses', () => {
  it('accepts a bare address, a named one and a quoted name with a comma', () => {
    expect(ok('ann@example.com')).toEqual({ address: 'ann@example.com' });
    expect(ok('Ann Lee <ann@example.com>')).toEqual({ name: 'Ann Lee', address: 'ann@example.com' });
    expect(ok('"Lee, Ann" <ann@Example.COM>')).toEqual({ name: 'Lee, Ann', address: 'ann@example.com' });
  });

  it('encodes an internationalised domain as punycode', () => {
    expect(ok('joerg@bücher.example').address).toBe('joerg@xn--bcher-kva.example');
  });

  it('refuses a Unicode local part, which needs SMTPUTF8 that many servers lack', () => {
    expect(reason('jörg@example.com')).toMatch(/local part/);
  });

  it.each([
    ['two addresses in one field', 'a@example.com, b@example.com'],
    ['a semicolon list', 'a@example.com;b@example.com'],
    ['group syntax', 'friends: a@example.com;'],
    ['a quoted local part that hides another address', '"a@gmail.com x"@internal.example'],
    ['a comment that hides another domain', 'user@good-corp.com(x)evil.com'],
    ['an encoded word', '=?utf-8?q?Ann?= <ann@example.com>'],
    ['a line break', 'ann@example.com\r\nBcc: x@example.com'],
    ['a Unicode line separator', 'Ann\u2028 <ann@example.com>'],
    ['a NUL', 'ann@example.com\u0000'],
    ['a next-line character', 'Ann\u0085 <ann@example.com>'],
    ['a decimal IP domain', 'root@2130706433'],
    ['an IP literal', 'root@[127.0.0.1]'],
    ['no domain dot', 'root@localhost'],
    ['an unquoted special in the name', 'Ann <b@example.com> <ann@example.com>'],
  ])('refuses %s', (_, input) => {
    expect(reason(input)).toBeTruthy();
  });

  it('says what is wrong in words', () => {
    expect(reason('ann@example.com\nx')).toBe('contains a line feed');
    expect(reason('a@example.com, b@example.com')).toMatch(/exactly one address/);
  });

  it('formats a name with quotes so the header cannot be split', () => {
    expect(formatMailbox({ name: 'Lee, "Ann"', address: 'ann@example.com' })).toBe('"Lee, \\"Ann\\"" <ann@example.com>');
  });
});
