import { parseMailbox, truncate, type Mailbox, type SendRequestParsed } from '@mailpage/contract';
import { DomainError } from '../common/domain-error';

export interface ResolvedRecipients {
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  /** Every distinct address in to, cc, bcc order: the envelope, and the positions a replay answers with. */
  all: string[];
}

/**
 * Parses the address recipients strictly and removes duplicates across to, cc and bcc (the first place wins).
 * Confluence users (`{ accountId }`) are resolved to addresses by `resolveAccount`.
 */
export async function resolveRecipients(
  req: Pick<SendRequestParsed, 'to' | 'cc' | 'bcc'>,
  maxRecipients: number,
  resolveAccount: (accountId: string, where: string) => Promise<Mailbox>,
): Promise<ResolvedRecipients> {
  const total = req.to.length + req.cc.length + req.bcc.length;
  if (total === 0) throw new DomainError('VALIDATION_FAILED', 400, 'Add at least one recipient in to, cc or bcc.');
  if (total > maxRecipients) {
    throw new DomainError('TOO_MANY_RECIPIENTS', 400, `A mail can go to at most ${maxRecipients} recipients; this one has ${total}.`, { limit: maxRecipients, count: total });
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const out: ResolvedRecipients = { to: [], cc: [], bcc: [], all: [] };
  for (const field of ['to', 'cc', 'bcc'] as const) {
    for (const [i, r] of req[field].entries()) {
      const where = `${field}[${i}]`;
      let m: Mailbox;
      if (typeof r === 'string') {
        const parsed = parseMailbox(r);
        if (!parsed.ok) {
          problems.push(`${where} "${truncate(r)}" ${parsed.reason}`);
          continue;
        }
        m = parsed.mailbox;
      } else {
        m = await resolveAccount(r.accountId, where);
      }
      const key = m.address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out[field].push(m);
      out.all.push(m.address);
    }
  }
  if (problems.length) {
    throw new DomainError('VALIDATION_FAILED', 400, `Some recipients are not valid: ${problems.slice(0, 10).join('; ')}.`, { recipients: problems });
  }
  return out;
}
