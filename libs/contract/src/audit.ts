/** One audit entry: metadata only. No title, body, address or file name is ever stored. */
export interface AuditEntry {
  id: string;
  createdAt: string;
  finishedAt: string | null;
  accountId: string;
  pageId: string | null;
  spaceKey: string | null;
  recipientCount: number;
  encryption: string;
  outcome: 'sending' | 'sent' | 'failed' | 'unknown';
  smtpCode: number | null;
  errorCode: string | null;
  messageId: string | null;
  durationMs: number | null;
}

/** GET /api/audit?cursor=&limit=&spaceKey=&outcome=&from=&to= (site admin), newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null at the end. */
  nextCursor: string | null;
}
