import { describe, expect, it } from 'vitest';
import { DomainError } from '../common/domain-error';
import { MAX_PARTS, resolveRecipients, splitRecipients, type GroupMember, type RecipientResolvers } from './recipients';

const member = (i: number, hidden = false): GroupMember =>
  hidden ? { accountId: `m${i}`, displayName: `Member ${i}`, mailbox: null, reason: 'hides their email address' } : { accountId: `m${i}`, displayName: `Member ${i}`, mailbox: { address: `m${i}@example.com` } };

const resolvers = (groups: Record<string, GroupMember[]>): RecipientResolvers => ({
  account: async (accountId) => ({ address: `${accountId}@example.com` }),
  group: async (name, where, max) => {
    if (!groups[name]) throw new DomainError('VALIDATION_FAILED', 400, `${where}: no group ${name}`);
    return groups[name].slice(0, max);
  },
});

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('not refused');
}

describe('recipients with groups', () => {
  it('splits 250 group members into mails of at most 100, each member in exactly one', async () => {
    const big = Array.from({ length: 250 }, (_, i) => member(i));
    const r = await resolveRecipients({ to: ['ann@example.com'], cc: [], bcc: [{ group: 'big' }] }, 100, resolvers({ big }));
    expect(r.all).toHaveLength(251);
    expect(r.groups).toEqual([{ field: 'bcc', name: 'big', members: 250, included: 250 }]);
    const parts = splitRecipients(r, 100);
    expect(parts.map((p) => p.all.length)).toEqual([100, 100, 51]);
    expect(parts[0].to).toEqual([{ address: 'ann@example.com' }]);
    expect(parts[1].to).toEqual([]);
    const everyone = parts.flatMap((p) => p.all);
    expect(new Set(everyone).size).toBe(251);
    expect(everyone.sort()).toEqual([...r.all].sort());
    for (const p of parts) expect([...p.to, ...p.cc, ...p.bcc].map((m) => m.address)).toEqual(p.all);
  });

  it('lists members with a hidden address as skipped, with the reason, and does not count them', async () => {
    const r = await resolveRecipients({ to: [{ group: 'writers' }], cc: [], bcc: [] }, 100, resolvers({ writers: [member(1), member(2, true), member(3)] }));
    expect(r.all).toEqual(['m1@example.com', 'm3@example.com']);
    expect(r.skipped).toEqual([{ group: 'writers', accountId: 'm2', displayName: 'Member 2', reason: 'hides their email address' }]);
    expect(r.groups[0]).toMatchObject({ members: 3, included: 2 });
  });

  it('sends once to an address that is also in a group (the first place wins)', async () => {
    const r = await resolveRecipients({ to: ['M1@example.com'], cc: [{ group: 'g' }], bcc: [] }, 100, resolvers({ g: [member(1), member(2)] }));
    expect(r.to.map((m) => m.address)).toEqual(['M1@example.com']);
    expect(r.cc.map((m) => m.address)).toEqual(['m2@example.com']);
    expect(r.groups[0]).toMatchObject({ members: 2, included: 1 });
  });

  it('refuses a send larger than the most mails a send may be', async () => {
    const huge = Array.from({ length: 100 * MAX_PARTS + 1 }, (_, i) => member(i));
    const e = await refusal(resolveRecipients({ to: [{ group: 'huge' }], cc: [], bcc: [] }, 100, resolvers({ huge })));
    expect(e).toMatchObject({ code: 'TOO_MANY_RECIPIENTS', details: { limit: 1000 } });
  });

  it('without a group, keeps the one-mail limit', async () => {
    const to = Array.from({ length: 101 }, (_, i) => `a${i}@example.com`);
    const e = await refusal(resolveRecipients({ to, cc: [], bcc: [] }, 100, resolvers({})));
    expect(e).toMatchObject({ code: 'TOO_MANY_RECIPIENTS', message: 'A mail can go to at most 100 recipients; this one has 101.' });
  });
});

describe('recipients and the site domain rules', () => {
  const rules = { allowedDomains: ['example.com'], blockedDomains: [] };

  it('refuses an address outside the allow-list, naming it and where it is, before anything else happens', async () => {
    const e = await refusal(resolveRecipients({ to: ['ann@example.com'], cc: ['"Eve" <eve@evil.example>'], bcc: [] }, 100, resolvers({}), rules));
    expect(e.code).toBe('RECIPIENT_NOT_ALLOWED');
    expect(e.message).toContain('eve@evil.example');
    expect(e.message).not.toContain('ann@example.com');
    expect(e.details).toEqual({ recipients: ['cc[0] eve@evil.example is outside the domains a site admin allows (evil.example)'] });
  });

  it('checks Confluence users by their resolved address', async () => {
    const e = await refusal(resolveRecipients({ to: [{ accountId: 'bob' }], cc: [], bcc: [] }, 100, resolvers({}), { allowedDomains: ['corp.example'], blockedDomains: [] }));
    expect(e.details).toEqual({ recipients: ['to[0] bob@example.com is outside the domains a site admin allows (example.com)'] });
  });

  it('skips group members outside the rules, saying why', async () => {
    const outsider: GroupMember = { accountId: 'x', displayName: 'Xavier', mailbox: { address: 'x@other.example' } };
    const r = await resolveRecipients({ to: [{ group: 'g' }], cc: [], bcc: [] }, 100, resolvers({ g: [member(1), outsider] }), rules);
    expect(r.all).toEqual(['m1@example.com']);
    expect(r.skipped).toEqual([{ group: 'g', accountId: 'x', displayName: 'Xavier', reason: 'their address is outside the domains a site admin allows (other.example)' }]);
  });

  it('refuses a send that is left with nobody', async () => {
    const e = await refusal(resolveRecipients({ to: [{ group: 'g' }], cc: [], bcc: [] }, 100, resolvers({ g: [member(1, true)] })));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toContain('None of the recipients');
  });
});
