import { sendRequestSchema } from '@mailpage/contract';
import type { z } from 'zod';

/**
 * What Nest's metadata cannot tell about a route: a one-line summary and the name of the response type (from
 * libs/contract/src, or a short shape). Keyed by `METHOD /path` as Nest maps it. A route missing here is still
 * documented, from its metadata alone.
 */
export interface RouteDoc {
  summary: string;
  /** The response type's name; a map when the route answers with more than one success status. */
  response: string | Record<number, string>;
  /** Media type of the answer when it is not JSON. */
  produces?: string;
  /** A body the handler parses itself rather than through a ZodPipe. */
  body?: { name: string; schema: z.ZodType; files?: string[] };
  /** Query parameters the handler parses itself. */
  query?: { name: string; required: boolean; schema: Record<string, unknown>; description?: string }[];
  /** Who may call it, when that is not the Forge token or the route's own @Public/@SiteAdmin. */
  auth?: 'metrics-token' | 'forge-lifecycle';
}

const kind = { name: 'kind', required: true, schema: { type: 'string', enum: ['pgp', 'smime'] } };
const email = { name: 'email', required: true, schema: { type: 'string', minLength: 3, maxLength: 320 } };
const sendBody = { name: 'SendRequest', schema: sendRequestSchema, files: ['attachments', 'images'] };

export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  'GET /healthz': { summary: 'Liveness: the process is up.', response: '{ status: "ok" }' },
  'GET /readyz': { summary: 'Readiness: the database is reachable and the node is not draining (503 otherwise).', response: '{ status: "ready" }' },
  'POST /forge/lifecycle': { summary: 'Forge lifecycle events (installed, upgraded, uninstalled); the event carries its own invocation token.', response: 'no content', auth: 'forge-lifecycle' },
  'GET /metrics': { summary: 'Prometheus metrics (only when METRICS_TOKEN is set; else on the metrics port only).', response: 'Prometheus text exposition', produces: 'text/plain', auth: 'metrics-token' },
  'GET /api/docs': { summary: 'This list of operations, as HTML.', response: 'HTML page', produces: 'text/html' },
  'GET /api/docs/openapi.json': { summary: 'The OpenAPI 3.1 document of this API.', response: 'OpenAPI document' },
  'GET /api/me': { summary: 'The calling user: account, site, site admin, and whether they may send (in ?spaceKey=).', response: 'MeView' },
  'GET /api/recipients': { summary: 'Confluence users whose name matches ?query= (at least 2 characters).', response: 'RecipientSuggestion[]' },
  'GET /api/pages/:pageId/attachments': { summary: "The page's attachments, as the user sees them.", response: 'PageAttachment[]' },
  'DELETE /api/data': { summary: "Delete all of this site's Mailpage data.", response: 'no content' },
  'GET /api/groups': { summary: 'Confluence groups whose name matches ?query=.', response: 'GroupSuggestion[]' },
  'GET /api/groups/:name/members/count': { summary: 'How many members a Confluence group has.', response: 'GroupMemberCount' },
  'GET /api/settings/layout': { summary: "The site's mail layout.", response: 'MailLayoutView' },
  'PUT /api/settings/layout': { summary: "Save the site's mail layout.", response: 'MailLayoutView' },
  'POST /api/settings/layout/preview': { summary: 'Preview a mail layout without saving it.', response: 'LayoutPreview' },
  'GET /api/settings/recipients': { summary: "The site's recipient policy (allowed and blocked domains).", response: 'RecipientPolicyView' },
  'PUT /api/settings/recipients': { summary: "Set the site's recipient policy.", response: 'RecipientPolicyView' },
  'GET /api/spaces/:spaceKey/mail': { summary: "A space's own mail settings.", response: 'SpaceMailView' },
  'PUT /api/spaces/:spaceKey/mail': { summary: "Set a space's own mail settings.", response: 'SpaceMailView' },
  'GET /api/settings/mail': { summary: "The site's mail settings (secrets as passwordSet, never their value).", response: 'MailSettingsView' },
  'PUT /api/settings/mail': { summary: "Save the site's mail settings.", response: 'MailSettingsView' },
  'POST /api/settings/mail/verify': { summary: 'Connect, start TLS and log in with the saved or submitted settings; optionally send a test mail.', response: 'VerifyResult' },
  'POST /api/mail/preview': { summary: 'Compose the mail without sending it (JSON, or multipart with files).', response: 'PreviewResult', body: sendBody },
  'POST /api/mail/send': { summary: 'Send a page as mail (JSON, or multipart with files); header Idempotency-Key makes a retry safe.', response: { 200: 'SendResult', 202: 'SendAccepted' }, body: sendBody },
  'GET /api/mail/sends/:sendId': { summary: 'Status of a send that answered 202.', response: 'SendStatusView' },
  'GET /api/permissions': { summary: 'The global send permission.', response: 'GlobalPermissions' },
  'PUT /api/permissions': { summary: 'Set the global send permission.', response: 'GlobalPermissions' },
  'GET /api/spaces/:spaceKey/permissions': { summary: "A space's send permission.", response: 'SpacePermissionsView' },
  'PUT /api/spaces/:spaceKey/permissions': { summary: "Set a space's send permission (space admin).", response: 'SpacePermissionsView' },
  'GET /api/audit': { summary: 'Audit entries, newest first, with cursor paging.', response: 'AuditPage' },
  'GET /api/audit/retention': { summary: 'How many days audit entries are kept.', response: '{ retentionDays: number }' },
  'PUT /api/audit/retention': { summary: 'Set how many days audit entries are kept.', response: '{ retentionDays: number }' },
  'GET /api/me/keys': { summary: "The user's own public PGP key and S/MIME certificate.", response: 'MyKeysView' },
  'PUT /api/me/keys': { summary: "Upload the user's own public key or certificate.", response: 'MyKeysView' },
  'DELETE /api/me/keys': { summary: "Remove the user's own key of one kind.", response: 'MyKeysView', query: [kind] },
  'GET /api/settings/encryption': { summary: "The site's encryption policy and signing keys (secrets never included).", response: 'EncryptionSettingsView' },
  'PUT /api/settings/encryption': { summary: "Set the site's encryption policy and signing keys.", response: 'EncryptionSettingsView' },
  'GET /api/settings/encryption/keys': { summary: 'Every public key on file for this site.', response: '(PublicKeyView & { email, addedBy })[]' },
  'PUT /api/settings/encryption/keys': { summary: 'Add a public key for an address.', response: 'PublicKeyView' },
  'DELETE /api/settings/encryption/keys': { summary: "Remove an address's key of one kind.", response: 'no content', query: [email, kind] },
  'POST /api/local/session': { summary: 'Local mode: invocation headers for a sandbox user (from this machine only).', response: 'LocalSession' },
  'GET /api/local/outbox': { summary: 'Local mode: the mails the built-in catcher received (the last 50, in memory).', response: 'OutboxEntry[]' },
  'GET /api/local/outbox/:id': { summary: 'Local mode: one caught mail as raw MIME.', response: 'raw MIME message', produces: 'message/rfc822' },
};
