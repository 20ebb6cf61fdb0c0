import type { ApiError } from '@mailpage/contract';
import { issuesOf } from '../shared/errors';
import type { RecipientField } from './recipients';

/** Where each part of a failed send or preview is shown: next to the picker, the attachments, or the form. */
export interface SendErrorPlacement {
  to: string[];
  cc: string[];
  bcc: string[];
  /** About recipients as a whole (none, too many, a user whose address is hidden without a field). */
  recipients: string | null;
  attachments: string | null;
  /** About the personal message, and about Reply-To me (the sender's address is not available). */
  message: string | null;
  replyToMe: string | null;
  /** The server's sentence for the form as a whole; null when it is already shown next to what it concerns. */
  form: string | null;
  /** The service refused this user: the sentence says why (permissions). */
  forbidden: boolean;
  /** A new mail size limit the service named (MAIL_TOO_LARGE details.limit). */
  limit: number | null;
}

const FIELD = /^(to|cc|bcc)(?:\[\d+\]|\.\d+)?/;

export function placeSendError(error: ApiError | null): SendErrorPlacement {
  const out: SendErrorPlacement = { to: [], cc: [], bcc: [], recipients: null, attachments: null, message: null, replyToMe: null, form: null, forbidden: false, limit: null };
  if (!error) return out;
  let shownAtField = false;

  const listed = error.details?.['recipients'];
  if (Array.isArray(listed)) {
    for (const item of listed) {
      if (typeof item !== 'string') continue;
      const field = FIELD.exec(item)?.[1] as RecipientField | undefined;
      if (field) out[field].push(item);
      else out.recipients = out.recipients ? `${out.recipients} ${item}` : item;
    }
  }
  for (const issue of issuesOf(error)) {
    const field = FIELD.exec(issue.path)?.[1] as RecipientField | undefined;
    if (field) out[field].push(issue.message);
    else if (issue.path.startsWith('attachmentIds')) out.attachments = issue.message;
    else if (issue.path === 'message') out.message = issue.message;
    else if (issue.path === 'replyToMe') {
      // The whole sentence says what to do; it is about this one box only.
      out.replyToMe = error.message;
      shownAtField = true;
    }
  }

  switch (error.code) {
    case 'TOO_MANY_RECIPIENTS':
      out.recipients = error.message;
      shownAtField = true;
      break;
    case 'MAIL_TOO_LARGE':
    case 'PAYLOAD_TOO_LARGE': {
      out.attachments = error.message;
      shownAtField = true;
      const limit = error.details?.['limit'];
      if (typeof limit === 'number' && limit > 0) out.limit = limit;
      break;
    }
    case 'FORBIDDEN':
      out.forbidden = true;
      break;
    case 'VALIDATION_FAILED':
      if (/at least one recipient/i.test(error.message) && !out.to.length && !out.cc.length && !out.bcc.length) {
        out.recipients = error.message;
        shownAtField = true;
      }
      break;
  }
  out.form = shownAtField ? null : error.message;
  return out;
}
