import { z } from 'zod';
import { headerText, mailbox } from './fields';

export const ENCRYPTION_CHOICES = ['auto', 'none', 'pgp', 'smime'] as const;
export type EncryptionChoice = (typeof ENCRYPTION_CHOICES)[number];

/** A recipient: an address string, or a Confluence user resolved by the service. */
export const recipientSchema = z.union([
  z.string(),
  z.strictObject({ accountId: z.string().min(1).max(128).regex(/^[A-Za-z0-9:_-]+$/, 'accountId has characters that are not allowed') }),
]);
export type RecipientInput = z.input<typeof recipientSchema>;

export const MAX_TITLE_LENGTH = 255;

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
});
export type SendRequest = z.input<typeof sendRequestSchema>;
export type SendRequestParsed = z.output<typeof sendRequestSchema>;

export interface SendResult {
  sendId: string;
  messageId: string;
  accepted: string[];
  rejected: string[];
  encryption: 'none' | 'pgp' | 'smime';
}

export interface SendAccepted {
  sendId: string;
  status: 'sending';
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
}

export { mailbox };
