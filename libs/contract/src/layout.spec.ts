import { describe, expect, it } from 'vitest';
import { domainMatches, normaliseDomainEntry, recipientDomainProblem } from './domains';
import { mailLayoutSchema, spaceMailSchema } from './layout';
import { recipientPolicySchema } from './recipients';
import { sendRequestSchema } from './send';

describe('recipient domain rules', () => {
  it('stores domains in their ASCII form, lower case, with or without a leading dot', () => {
    expect(normaliseDomainEntry(' Example.COM ')).toBe('example.com');
    expect(normaliseDomainEntry('.Example.com')).toBe('.example.com');
    expect(normaliseDomainEntry('bücher.example')).toBe('xn--bcher-kva.example');
    expect(normaliseDomainEntry('.bücher.example')).toBe('.xn--bcher-kva.example');
    for (const bad of ['', '.', 'com', 'ann@example.com', 'exa mple.com', '*.example.com', '192.168.1.1', '..example.com']) expect(normaliseDomainEntry(bad)).toBeNull();
  });

  it('matches a domain exactly, and a leading-dot entry only below it', () => {
    expect(domainMatches('example.com', 'example.com')).toBe(true);
    expect(domainMatches('mail.example.com', 'example.com')).toBe(false);
    expect(domainMatches('mail.example.com', '.example.com')).toBe(true);
    expect(domainMatches('a.b.example.com', '.example.com')).toBe(true);
    expect(domainMatches('example.com', '.example.com')).toBe(false);
    expect(domainMatches('badexample.com', '.example.com')).toBe(false);
  });

  it('allows only listed domains when there is an allow-list, and never a blocked one', () => {
    const rules = { allowedDomains: ['example.com', '.corp.example'], blockedDomains: ['.example.com', 'old.corp.example'] };
    expect(recipientDomainProblem('ann@example.com', rules)).toBeNull();
    expect(recipientDomainProblem('ann@eu.corp.example', rules)).toBeNull();
    expect(recipientDomainProblem('ann@old.corp.example', rules)).toContain('blocked');
    expect(recipientDomainProblem('ann@mail.example.com', rules)).toContain('blocked');
    expect(recipientDomainProblem('ann@gmail.com', rules)).toContain('outside the domains');
    expect(recipientDomainProblem('ann@gmail.com', { allowedDomains: [], blockedDomains: [] })).toBeNull();
  });

  it('a saved rule names the entry that is not a domain', () => {
    const r = recipientPolicySchema.safeParse({ allowedDomains: ['bücher.example', 'not a domain'] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0].message).toContain('"not a domain" is not a domain');
    expect(recipientPolicySchema.parse({ allowedDomains: ['.Bücher.example'] }).allowedDomains).toEqual(['.xn--bcher-kva.example']);
  });
});

describe('mail layout', () => {
  it.each([
    ['p { width: expression(alert(1)) }', 'expression('],
    ['p { background: url(javascript:alert(1)) }', 'url(javascript:'],
    ["p { background: url( 'javascript:alert(1)') }", 'url(javascript:'],
    ['@import "https://evil.example/x.css";', '@import'],
    ['@im/* */port "x.css";', '@import'],
    ['p { behavior: url(x.htc) }', 'behavior'],
    ['p { -moz-binding: url(x.xml#y) }', '-moz-binding'],
    ['</style><script>alert(1)</script>', 'an HTML tag'],
    ['p { color: \\72 ed }', 'a backslash escape'],
  ])('refuses custom CSS with %s, naming %s', (css, construct) => {
    const r = mailLayoutSchema.safeParse({ customCss: css });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['customCss'] });
    expect(r.error!.issues[0].message).toContain(`uses ${construct},`);
  });

  it('takes plain CSS, and defaults for everything left out', () => {
    expect(mailLayoutSchema.parse({ customCss: 'h1 { color: #0052cc } @media (max-width: 600px) { p { font-size: 16px } }' })).toEqual({
      headerText: '',
      footerTemplate: '',
      customCss: 'h1 { color: #0052cc } @media (max-width: 600px) { p { font-size: 16px } }',
      includePageLink: false,
      allowSpaceOverrides: false,
    });
  });

  it('refuses a logo over 200 kB, a header with a line break, and unknown fields', () => {
    const big = Buffer.alloc(200 * 1024 + 1).toString('base64');
    expect(mailLayoutSchema.safeParse({ logo: { contentType: 'image/png', dataBase64: big } }).error!.issues[0].message).toContain('larger than 200 kB');
    expect(mailLayoutSchema.safeParse({ logo: { contentType: 'image/png', dataBase64: Buffer.alloc(200 * 1024).toString('base64') } }).success).toBe(true);
    expect(mailLayoutSchema.safeParse({ logo: { contentType: 'image/gif', dataBase64: 'R0lG' } }).success).toBe(false);
    expect(mailLayoutSchema.safeParse({ headerText: 'a\nb' }).success).toBe(false);
    expect(mailLayoutSchema.safeParse({ footerTemplate: 'Sent by {sender}\non {date}' }).success).toBe(true);
    expect(mailLayoutSchema.safeParse({ footer: 'x' }).success).toBe(false);
  });

  it('a space override of Reply-To is one bare address, or empty', () => {
    expect(spaceMailSchema.parse({ replyTo: 'Team@Example.COM' }).replyTo).toBe('Team@example.com');
    expect(spaceMailSchema.parse({ replyTo: '' }).replyTo).toBe('');
    expect(spaceMailSchema.safeParse({ replyTo: 'Team <team@example.com>' }).success).toBe(false);
    expect(spaceMailSchema.safeParse({ subjectPrefix: '[A]\r\nBcc: x@evil.example' }).success).toBe(false);
  });
});

describe('send request additions', () => {
  it('takes a group recipient, a personal message and Reply-To me (also as multipart text)', () => {
    const r = sendRequestSchema.parse({ to: [{ group: ' writers ' }], message: 'Hi all,\nplease read.', replyToMe: 'true' });
    expect(r.to).toEqual([{ group: 'writers' }]);
    expect(r.replyToMe).toBe(true);
    expect(sendRequestSchema.parse({ to: ['a@example.com'] }).replyToMe).toBe(false);
  });

  it('refuses a message over 2000 characters or with control characters, and an empty group', () => {
    expect(sendRequestSchema.safeParse({ to: ['a@example.com'], message: 'x'.repeat(2001) }).error!.issues[0].message).toContain('longer than 2000');
    expect(sendRequestSchema.safeParse({ to: ['a@example.com'], message: 'x'.repeat(2000) }).success).toBe(true);
    expect(sendRequestSchema.safeParse({ to: ['a@example.com'], message: 'a\u0000b' }).success).toBe(false);
    expect(sendRequestSchema.safeParse({ to: [{ group: '  ' }] }).success).toBe(false);
    expect(sendRequestSchema.safeParse({ to: [{ group: 'a', accountId: 'b' }] }).success).toBe(false);
  });
});
