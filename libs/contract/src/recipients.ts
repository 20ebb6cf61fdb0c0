import { z } from 'zod';
import { normaliseDomainEntry } from './domains';

/** One entry of a domain list: a domain, or `.domain` for its subdomains; stored IDNA-encoded. */
const domainEntry = (field: string) =>
  z.string({ message: `${field} must hold strings` }).transform((v, ctx) => {
    const entry = normaliseDomainEntry(v);
    if (!entry) {
      ctx.addIssue({ code: 'custom', message: `${field} "${v.slice(0, 80)}" is not a domain such as example.com or .example.com` });
      return z.NEVER;
    }
    return entry;
  });

/** GET/PUT /api/settings/recipients (site admin). Empty allowedDomains: any domain that is not blocked. */
export const recipientPolicySchema = z.strictObject({
  allowedDomains: z.array(domainEntry('allowedDomains')).max(200, 'allowedDomains holds more than 200 entries').default([]),
  blockedDomains: z.array(domainEntry('blockedDomains')).max(200, 'blockedDomains holds more than 200 entries').default([]),
});
export type RecipientPolicyInput = z.input<typeof recipientPolicySchema>;

export interface RecipientPolicyView {
  allowedDomains: string[];
  blockedDomains: string[];
  updatedAt: string | null;
}

/** GET /api/groups?query= : Confluence groups whose name matches. */
export interface GroupSuggestion {
  name: string;
}

/** GET /api/groups/:name/members/count */
export interface GroupMemberCount {
  name: string;
  count: number;
}
