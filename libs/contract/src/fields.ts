import { z } from 'zod';
import { headerSafetyProblem, parseMailbox, type Mailbox } from './address';

/** Text that ends up in a mail header: no line breaks, NUL, other controls or direction overrides. */
export function headerText(field: string, max: number) {
  return z
    .string({ message: `${field} must be a string` })
    .max(max, `${field} is longer than ${max} characters`)
    .superRefine((v, ctx) => {
      const problem = headerSafetyProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${field} ${problem}` });
    });
}

/** One mailbox, normalised; the error names the field and what is wrong. */
export function mailbox(field: string) {
  return z.string({ message: `${field} must be a string` }).transform((v, ctx): Mailbox => {
    const r = parseMailbox(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: `${field} "${truncate(v)}" ${r.reason}` });
      return z.NEVER;
    }
    return r.mailbox;
  });
}

/** A bare address (no display name), kept as its normalised string. */
export function mailboxAddress(field: string) {
  return mailbox(field).transform((m, ctx) => {
    if (m.name) {
      ctx.addIssue({ code: 'custom', message: `${field} must be a bare address without a display name` });
      return z.NEVER;
    }
    return m.address;
  });
}

/** Input echoed in an error message: controls, direction overrides and invisible characters become U+FFFD, so the sentence reads as written. */
export function truncate(v: string, n = 80): string {
  const clean = v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff\u00ad]/g, '\uFFFD');
  return clean.length > n ? `${clean.slice(0, n)}…` : clean;
}
