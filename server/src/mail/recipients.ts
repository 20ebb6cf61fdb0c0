import { parseMailbox, recipientDomainProblem, truncate, type DomainRules, type GroupExpansion, type Mailbox, type SendRequestParsed, type SkippedRecipient } from '@mailpage/contract';
import { DomainError } from '../common/domain-error';

export interface ResolvedRecipients {
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  /** Every distinct address in to, cc, bcc order: the envelope, and the positions a replay answers with. */
  all: string[];
}

/** All recipients of a send, with what the groups among them expanded to. */
export interface SendRecipients extends ResolvedRecipients {
  groups: GroupExpansion[];
  /** Group members the mail does not go to, and why. */
  skipped: SkippedRecipient[];
}

/** A group member as Confluence lists it; `mailbox` null with a `reason` when there is no address to send to. */
export interface GroupMember {
  accountId: string;
  displayName: string;
  mailbox: Mailbox | null;
  reason?: string;
}

export interface RecipientResolvers {
  /** A Confluence user's address; throws a DomainError naming `where` when there is none. */
  account: (accountId: string, where: string) => Promise<Mailbox>;
  /** A group's members, at most `max`; throws a DomainError naming `where` when there is no such group. */
  group: (name: string, where: string, max: number) => Promise<GroupMember[]>;
}

/** A send with groups may go out as this many mails at most (MAIL_MAX_RECIPIENTS each). */
export const MAX_PARTS = 10;

/**
 * Parses the address recipients strictly, resolves Confluence users and expands groups, and removes duplicates across
 * to, cc and bcc (the first place wins). Without a group a send holds at most `maxRecipients` (one mail); with a group
 * at most `maxRecipients * MAX_PARTS`, split into mails by `splitRecipients`. A recipient the site's domain rules do
 * not allow is refused, naming it, before anything is sent; a group member they do not allow is skipped and listed.
 */
export async function resolveRecipients(
  req: Pick<SendRequestParsed, 'to' | 'cc' | 'bcc'>,
  maxRecipients: number,
  resolvers: RecipientResolvers,
  rules: DomainRules = { allowedDomains: [], blockedDomains: [] },
): Promise<SendRecipients> {
  const total = req.to.length + req.cc.length + req.bcc.length;
  if (total === 0) throw new DomainError('VALIDATION_FAILED', 400, 'Add at least one recipient in to, cc or bcc.');
  const hasGroup = [...req.to, ...req.cc, ...req.bcc].some((r) => typeof r === 'object' && 'group' in r);
  const limit = hasGroup ? maxRecipients * MAX_PARTS : maxRecipients;
  if (total > limit) throw tooMany(limit, total, hasGroup);

  const problems: string[] = [];
  const refused: { where: string; address: string; problem: string }[] = [];
  const seen = new Set<string>();
  const out: SendRecipients = { to: [], cc: [], bcc: [], all: [], groups: [], skipped: [] };
  const add = (field: 'to' | 'cc' | 'bcc', m: Mailbox): boolean => {
    const key = m.address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    out[field].push(m);
    out.all.push(m.address);
    return true;
  };
  for (const field of ['to', 'cc', 'bcc'] as const) {
    for (const [i, r] of req[field].entries()) {
      const where = `${field}[${i}]`;
      if (typeof r === 'object' && 'group' in r) {
        // One more than may be sent: enough to tell that the group is too large.
        const members = await resolvers.group(r.group, where, limit + 1);
        let included = 0;
        for (const member of members) {
          const problem = member.mailbox ? recipientDomainProblem(member.mailbox.address, rules) : null;
          if (!member.mailbox || problem) {
            out.skipped.push({ group: r.group, accountId: member.accountId, displayName: member.displayName, reason: member.reason ?? `their address ${problem}` });
            continue;
          }
          if (add(field, member.mailbox)) included++;
        }
        out.groups.push({ field, name: r.group, members: members.length, included });
        if (out.all.length > limit) throw tooMany(limit, out.all.length, true);
        continue;
      }
      let m: Mailbox;
      if (typeof r === 'string') {
        const parsed = parseMailbox(r);
        if (!parsed.ok) {
          problems.push(`${where} "${truncate(r)}" ${parsed.reason}`);
          continue;
        }
        m = parsed.mailbox;
      } else {
        m = await resolvers.account(r.accountId, where);
      }
      const problem = recipientDomainProblem(m.address, rules);
      if (problem) refused.push({ where, address: m.address, problem });
      add(field, m);
    }
  }
  if (problems.length) {
    throw new DomainError('VALIDATION_FAILED', 400, `Some recipients are not valid: ${problems.slice(0, 10).join('; ')}.`, { recipients: problems });
  }
  if (refused.length) {
    const names = refused.map((r) => r.address);
    throw new DomainError(
      'RECIPIENT_NOT_ALLOWED',
      400,
      `Mail from this site may not go to ${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}: a site admin limits the domains it may go to. Nothing was sent; remove ${names.length === 1 ? 'this recipient' : 'these recipients'}.`,
      { recipients: refused.map((r) => `${r.where} ${r.address} ${r.problem}`) },
    );
  }
  if (out.all.length === 0) {
    throw new DomainError('VALIDATION_FAILED', 400, 'None of the recipients has an address the mail can go to; see the skipped group members.', { skipped: out.skipped });
  }
  return out;
}

/** The recipients as mails of at most `max` each, in to, cc, bcc order: each address in exactly one of them. */
export function splitRecipients(r: ResolvedRecipients, max: number): ResolvedRecipients[] {
  const parts: ResolvedRecipients[] = [];
  let current: ResolvedRecipients | null = null;
  for (const field of ['to', 'cc', 'bcc'] as const) {
    for (const m of r[field]) {
      if (!current || current.all.length >= max) parts.push((current = { to: [], cc: [], bcc: [], all: [] }));
      current[field].push(m);
      current.all.push(m.address);
    }
  }
  return parts;
}

function tooMany(limit: number, count: number, split: boolean): DomainError {
  return new DomainError(
    'TOO_MANY_RECIPIENTS',
    400,
    split
      ? `A send can go to at most ${limit} recipients (${MAX_PARTS} mails of ${limit / MAX_PARTS}); this one has ${count}.`
      : `A mail can go to at most ${limit} recipients; this one has ${count}.`,
    { limit, count },
  );
}
