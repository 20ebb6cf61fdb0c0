/** GET /api/recipients?query= : Confluence users matching a name. */
export interface RecipientSuggestion {
  accountId: string;
  displayName: string;
  /** null when the user hides their email; the service can still resolve it as the app, or says why not. */
  email: string | null;
}

/** GET /api/pages/:pageId/attachments : the page's attachments as the user sees them. */
export interface PageAttachment {
  id: string;
  filename: string;
  mediaType: string;
  size: number;
}

/** POST /api/local/session (local mode only): what the SPA needs to call the API as a sandbox user. */
export interface LocalSession {
  accountId: string;
  displayName: string;
  /** Headers to send with every API call (a Forge invocation token and the OAuth tokens), valid for `expiresIn` seconds. */
  headers: Record<string, string>;
  expiresIn: number;
  users: { accountId: string; displayName: string; siteAdmin: boolean }[];
  spaces: { key: string; name: string; pages: { id: string; title: string }[] }[];
}
