import { domainToUnicode } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDomain, formatMailbox, parseMailbox, punycodeDecode } from './address';

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

  it('takes a copied "address" <address> as the bare address, and refuses another address in the name', () => {
    expect(ok('"ann@example.com" <ann@example.com>')).toEqual({ address: 'ann@example.com' });
    expect(reason('"ceo@corp.example" <mallory@evil.example>')).toMatch(/display name with an @/);
  });
});

describe('internationalised and look-alike domains', () => {
  it.each([
    ['user@bücher.example', 'user@xn--bcher-kva.example'],
    ['user@BÜCHER.example', 'user@xn--bcher-kva.example'],
    ['user@bu\u0308cher.example', 'user@xn--bcher-kva.example'],
    ['user@xn--bcher-kva.example', 'user@xn--bcher-kva.example'],
    ['user@пример.рф', 'user@xn--e1afmkfd.xn--p1ai'],
    ['user@аррӏе.рф', 'user@xn--80ak6aa92e.xn--p1ai'],
    ['user@сайт.com', 'user@xn--80aswg.com'],
    ['user@例え.jp', 'user@xn--r8jz45g.jp'],
    ['user@日本語ドメイン.jp', 'user@xn--eckwd4c7c5976acvb2w6i.jp'],
    ['user@한국어.kr', 'user@xn--3e0bk47br7k.kr'],
    ['user@παράδειγμα.gr', 'user@xn--hxajbheg2az3al.gr'],
    ['user@straße.de', 'user@xn--strae-oqa.de'],
  ])('accepts %s as %s', (input, address) => {
    expect(ok(input).address).toBe(address);
  });

  it.each([
    ['Latin with one Cyrillic а', 'user@pаypal.com', /mixes Latin and Cyrillic letters \("а" \(U\+0430\) is Cyrillic\)/],
    ['the same as punycode', 'user@xn--pypal-4ve.com', /mixes Latin and Cyrillic/],
    ['Latin with a Greek ο', 'user@gοogle.com', /mixes Latin and Greek/],
    ['Cyrillic with a Latin letter', 'user@раураl.com', /mixes Cyrillic and Latin/],
    ['Latin with Han', 'user@abc中文.com', /mixes Latin and Han/],
    ['a whole-script Cyrillic look-alike', 'user@аррӏе.com', /Cyrillic letters that all look like Latin ones \(it reads as "apple"\)/],
    ['a whole-script Greek look-alike', 'user@οκ.com', /Greek letters that all look like Latin ones/],
    ['a zero-width space', 'user@exa\u200bmple.com', /invisible character U\+200B/],
    ['a zero-width joiner', 'user@exa\u200dmple.com', /invisible character U\+200D/],
    ['a soft hyphen', 'user@exa\u00admple.com', /invisible character U\+00AD/],
    ['a byte order mark', 'user@\ufeffexample.com', /invisible character U\+FEFF/],
    ['full-width letters', 'user@ｅｘａｍｐｌｅ.com', /changes when encoded \(it would go out as example\.com\)/],
    ['an ideographic full stop', 'user@example\u3002com', /changes when encoded/],
    ['a compatibility letter', 'user@ℂ.com', /changes when encoded/],
    ['an emoji', 'user@☃.com', /"☃" \(U\+2603\).*not a letter, digit or hyphen/],
    ['invalid punycode', 'user@xn--a.com', /not a valid host name|not valid punycode/],
    ['a label with a leading hyphen', 'user@-example.com', /not a valid host name/],
    ['an empty label', 'user@example..com', /not a valid host name/],
    ['a numeric top-level domain', 'user@example.123', /not a valid host name/],
  ])('refuses %s', (_, input, message) => {
    expect(reason(input)).toMatch(message);
  });

  it('decodes punycode as the platform does', () => {
    for (const label of ['bcher-kva', 'e1afmkfd', 'p1ai', '80ak6aa92e', 'r8jz45g', 'eckwd4c7c5976acvb2w6i', 'hxajbheg2az3al', 'strae-oqa', 'pypal-4ve', 'ls8h']) {
      expect(punycodeDecode(label)).toBe(domainToUnicode(`xn--${label}.example`).split('.')[0]);
    }
    expect(punycodeDecode('99999999999')).toBeNull();
  });

  it('answers the Unicode form next to the ASCII one', () => {
    expect(checkDomain('Bücher.Example')).toEqual({ ok: true, ascii: 'xn--bcher-kva.example', unicode: 'bücher.example' });
  });
});
