import { z } from 'zod';
import { headerSafetyProblem } from './address';
import { headerText, mailbox } from './fields';

export const ENCRYPTION_CHOICES = ['auto', 'none', 'pgp', 'smime'] as const;
export type EncryptionChoice = (typeof ENCRYPTION_CHOICES)[number];

/**
 * A recipient: an address string, a Confluence user, or a Confluence group, both resolved by the service as the
 * sender. A group's members are expanded when the mail is sent; a group larger than the per-mail limit goes out as
 * several mails (see SendResult.parts).
 */
export const recipientSchema = z.union([
  z.string(),
  z.strictObject({ accountId: z.string().min(1).max(128).regex(/^[A-Za-z0-9:_-]+$/, 'accountId has characters that are not allowed') }),
  z.strictObject({
    group: z
      .string({ message: 'group must be a group name' })
      .trim()
      .min(1, 'group is empty')
      .max(255, 'group is longer than 255 characters')
      .refine((v) => !headerSafetyProblem(v), 'group has control characters'),
  }),
]);
export type RecipientInput = z.input<typeof recipientSchema>;

export const MAX_TITLE_LENGTH = 255;
export const MAX_MESSAGE_LENGTH = 2000;

/** A boolean, also as the text "true"/"false" of a multipart field. */
const flag = (field: string) =>
  z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { message: `${field} must be true or false` }).default(false);

/** JSON body (or multipart text fields) of POST /api/mail/send and /preview. Unknown keys are refused. */
export const sendRequestSchema = z.strictObject({
  pageId: z.string().max(64).regex(/^[0-9A-Za-z_-]*$/, 'pageId must be a Confluence page id').optional(),
  spaceKey: z.string().max(255).regex(/^[0-9A-Za-z_~-]*$/, 'spaceKey must be a Confluence space key').optional(),
  title: headerText('title', MAX_TITLE_LENGTH).optional(),
  html: z.string().optional(),
  to: z.array(recipientSchema).default([]),
  cc: z.array(recipientSchema).default([]),
  bcc: z.array(recipientSchema).default([]),
  attachmentIds: z.array(z.string().max(64).regex(/^[0-9A-Za-z_-]+$/, 'attachmentIds holds an id that is not a Confluence attachment id')).default([]),
  encryption: z.enum(ENCRYPTION_CHOICES).default('auto'),
  /** A short personal note from the sender, plain text, shown above the page (HTML-escaped). */
  message: z
    .string({ message: 'message must be text' })
    .max(MAX_MESSAGE_LENGTH, `message is longer than ${MAX_MESSAGE_LENGTH} characters`)
    .refine((v) => !headerSafetyProblem(v.replace(/\r?\n|\t/g, ' ')), 'message has control characters')
    .optional(),
  /** Reply-To: the sender's own Confluence email address. */
  replyToMe: flag('replyToMe'),
});
export type SendRequest = z.input<typeof sendRequestSchema>;
export type SendRequestParsed = z.output<typeof sendRequestSchema>;

/** One mail of a send: a send to more recipients than one mail may hold goes out as several, each its own audit row. */
export interface SendPart {
  sendId: string;
  /** null for a part that failed before its message was made. */
  messageId: string | null;
  accepted: string[];
  rejected: string[];
  /** 'failed': nothing of this part went out (its recipients are in `rejected`); 'unknown': it may have. */
  status: 'sent' | 'failed' | 'unknown';
  errorCode?: string;
}

/** A group member the mail did not go to, and why (the email is hidden and the app may not read it, ...). */
export interface SkippedRecipient {
  group: string;
  accountId: string;
  displayName: string;
  reason: string;
}

export interface SendTotals {
  parts: number;
  recipients: number;
  accepted: number;
  rejected: number;
  skipped: number;
}

/**
 * 200 of POST /api/mail/send. `sendId` and `messageId` are the first part's; `accepted` and `rejected` hold every
 * part's recipients; `parts` lists each mail (one unless the send was split).
 */
export interface SendResult {
  sendId: string;
  messageId: string;
  accepted: string[];
  rejected: string[];
  encryption: 'none' | 'pgp' | 'smime';
  parts: SendPart[];
  totals: SendTotals;
  skipped: SkippedRecipient[];
}

export interface SendAccepted {
  sendId: string;
  status: 'sending';
  /** Every part's send id, first part first, when the send is split into several mails: poll each. */
  sendIds?: string[];
}

/** A group among the recipients, as the preview found it. */
export interface GroupExpansion {
  field: 'to' | 'cc' | 'bcc';
  name: string;
  /** Members Confluence lists. */
  members: number;
  /** Members the mail goes to (the rest are skipped, or already among the recipients). */
  included: number;
}

export type SendStatus = 'sending' | 'sent' | 'failed' | 'unknown';

export interface SendStatusView {
  sendId: string;
  status: SendStatus;
  messageId: string | null;
  recipientCount: number;
  acceptedCount: number | null;
  rejectedCount: number | null;
  errorCode: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface PreviewResult {
  /** Per recipient: whether a usable PGP key / S/MIME certificate is on file. */
  keyStatus: import('./keys').RecipientKeyStatus[];
  /** How the mail would be protected with the chosen `encryption` and the site's policy. */
  encryption: 'none' | 'pgp' | 'smime';
  /** Why the chosen encryption cannot be met (the send would be refused with this sentence). */
  encryptionProblem?: string;
  /** Size of the HTML part in bytes, and whether it is over Gmail's clipping limit (about 102 kB). */
  htmlBytes: number;
  clipped: boolean;
  subject: string;
  html: string;
  text: string;
  size: number;
  attachments: { filename: string; contentType: string; size: number; inline: boolean }[];
  recipients: { to: string[]; cc: string[]; bcc: string[] };
  /** The groups among the recipients and their member counts. */
  groups: GroupExpansion[];
  skipped: SkippedRecipient[];
  /** How many mails the send would be (more than one when the recipients exceed the per-mail limit). */
  parts: number;
  /** The Reply-To the mail would carry, if any. */
  replyTo: string | null;
}

export { mailbox };
