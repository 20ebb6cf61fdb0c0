import { formatMailbox, parseMailbox } from '@mailpage/contract';
import type { GroupSuggestion, RecipientInput, RecipientSuggestion } from '@mailpage/contract';

export type RecipientField = 'to' | 'cc' | 'bcc';

/**
 * One chip: an address typed by hand (normalised as the service will read it), a Confluence user, or a Confluence
 * group (expanded by the service when the mail is sent; `count` is its member count once known).
 */
export type Recipient =
  | { kind: 'address'; address: string; name?: string }
  | { kind: 'user'; accountId: string; displayName: string; email: string | null }
  | { kind: 'group'; name: string; count: number | null };

/** What the picker offers for a typed name: Confluence users and groups. */
export type Suggestion = ({ kind: 'user' } & RecipientSuggestion) | ({ kind: 'group' } & GroupSuggestion);

export function suggestionKey(s: Suggestion): string {
  return s.kind === 'user' ? `user:${s.accountId}` : `group:${s.name}`;
}

export function fromSuggestion(s: Suggestion | RecipientSuggestion): Recipient {
  if ('kind' in s && s.kind === 'group') return { kind: 'group', name: s.name, count: null };
  const u = s as RecipientSuggestion;
  return { kind: 'user', accountId: u.accountId, displayName: u.displayName, email: u.email };
}

export function groupMembersText(count: number | null): string {
  return count === null ? 'group' : `group, ${count} ${count === 1 ? 'member' : 'members'}`;
}

/** Parses what was typed into one address chip, or says in words why it is not one. */
export function parseRecipient(text: string): { ok: true; recipient: Recipient } | { ok: false; reason: string } {
  const r = parseMailbox(text);
  if (!r.ok) return { ok: false, reason: r.reason };
  return { ok: true, recipient: { kind: 'address', address: r.mailbox.address, ...(r.mailbox.name ? { name: r.mailbox.name } : {}) } };
}

export function toRecipientInput(r: Recipient): RecipientInput {
  if (r.kind === 'group') return { group: r.name };
  return r.kind === 'address' ? formatMailbox({ name: r.name, address: r.address }) : { accountId: r.accountId };
}

export function recipientLabel(r: Recipient): string {
  if (r.kind === 'group') return `group ${r.name}${r.count === null ? '' : ` (${r.count} ${r.count === 1 ? 'member' : 'members'})`}`;
  if (r.kind === 'user') return r.email ? `${r.displayName} (${r.email})` : `${r.displayName} (email hidden)`;
  return r.name ? `${r.name} <${r.address}>` : r.address;
}

export function sameRecipient(a: Recipient, b: Recipient): boolean {
  if (a.kind === 'group' || b.kind === 'group') return a.kind === 'group' && b.kind === 'group' && a.name.toLowerCase() === b.name.toLowerCase();
  if (a.kind === 'user' && b.kind === 'user') return a.accountId === b.accountId;
  const addr = (r: Recipient) => (r.kind === 'address' ? r.address : r.kind === 'user' ? r.email : null)?.toLowerCase() ?? null;
  const x = addr(a);
  return x !== null && x === addr(b);
}

/** Splits pasted text into single addresses at commas, semicolons and line breaks outside quotes and angle brackets. */
export function splitAddresses(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') angle = true;
    else if (!quoted && c === '>') angle = false;
    if (!quoted && !angle && (c === ',' || c === ';' || c === '\n' || c === '\r')) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Whether a comma typed now ends the address (not inside a quoted display name such as "Lee, Ann"). */
export function commaEndsAddress(text: string): boolean {
  return (text.match(/(?<!\\)"/g) ?? []).length % 2 === 0;
}
