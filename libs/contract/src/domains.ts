import { toAsciiDomain } from './address';

/**
 * Recipient domain rules (GET/PUT /api/settings/recipients). An entry is either a domain, which matches exactly that
 * domain (`example.com` matches `ann@example.com`, not `ann@mail.example.com`), or a domain with a leading dot, which
 * matches every subdomain of it and not the domain itself (`.example.com` matches `ann@mail.example.com` and
 * `ann@a.b.example.com`, not `ann@example.com`). To allow a domain and its subdomains, list both. Entries are
 * compared in their ASCII form: an internationalised domain (`bücher.example`) is stored IDNA-encoded
 * (`xn--bcher-kva.example`), so both spellings match.
 */
export interface DomainRules {
  allowedDomains: string[];
  blockedDomains: string[];
}

/** The entry in its stored form (lower case, IDNA-encoded, a leading dot kept), or null when it is not a domain. */
export function normaliseDomainEntry(entry: string): string | null {
  const trimmed = entry.trim().replace(/\.$/, '');
  const sub = trimmed.startsWith('.');
  const ascii = toAsciiDomain(sub ? trimmed.slice(1) : trimmed);
  return ascii ? `${sub ? '.' : ''}${ascii}` : null;
}

/** Whether the (ASCII, lower-case) domain matches one stored entry. */
export function domainMatches(domain: string, entry: string): boolean {
  return entry.startsWith('.') ? domain.endsWith(entry) && domain.length > entry.length : domain === entry;
}

/** Why mail may not go to this address under the rules, or null when it may. The domain is compared in its ASCII form. */
export function recipientDomainProblem(address: string, rules: DomainRules): string | null {
  const typed = address.slice(address.lastIndexOf('@') + 1);
  const domain = toAsciiDomain(typed) ?? typed.toLowerCase();
  if (rules.blockedDomains.some((e) => domainMatches(domain, e))) return `is in a domain a site admin has blocked (${domain})`;
  if (rules.allowedDomains.length && !rules.allowedDomains.some((e) => domainMatches(domain, e))) return `is outside the domains a site admin allows (${domain})`;
  return null;
}
