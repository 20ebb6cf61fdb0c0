/** The label of a Confluence REST call in `mailpage_confluence_request_duration_seconds`: a fixed set, never an id. */
export type ConfluenceEndpoint =
  | 'current_user'
  | 'groups'
  | 'group_search'
  | 'group'
  | 'group_members'
  | 'user'
  | 'user_email'
  | 'user_search'
  | 'spaces'
  | 'space'
  | 'space_operations'
  | 'page'
  | 'attachments'
  | 'attachment'
  | 'attachment_download'
  | 'attachment_file'
  | 'other';

// Matched against the path without its query string; ids are digits or opaque segments, so each pattern names the
// shape of the path and nothing of its values.
const ENDPOINTS: readonly (readonly [RegExp, ConfluenceEndpoint])[] = [
  [/^\/wiki\/rest\/api\/user\/current$/, 'current_user'],
  [/^\/wiki\/rest\/api\/user\/memberof$/, 'groups'],
  [/^\/wiki\/rest\/api\/group\/picker$/, 'group_search'],
  [/^\/wiki\/rest\/api\/group\/by-name$/, 'group'],
  [/^\/wiki\/rest\/api\/group\/[^/]+\/membersByGroupId$/, 'group_members'],
  [/^\/wiki\/rest\/api\/user\/email$/, 'user_email'],
  [/^\/wiki\/rest\/api\/user$/, 'user'],
  [/^\/wiki\/rest\/api\/search\/user$/, 'user_search'],
  [/^\/wiki\/api\/v2\/spaces$/, 'spaces'],
  [/^\/wiki\/api\/v2\/spaces\/[^/]+\/operations$/, 'space_operations'],
  [/^\/wiki\/api\/v2\/spaces\/[^/]+$/, 'space'],
  [/^\/wiki\/api\/v2\/pages\/[^/]+\/attachments$/, 'attachments'],
  [/^\/wiki\/api\/v2\/pages\/[^/]+$/, 'page'],
  [/^\/wiki\/api\/v2\/attachments\/[^/]+$/, 'attachment'],
  [/^\/wiki\/rest\/api\/content\/[^/]+\/child\/attachment\/[^/]+\/download$/, 'attachment_download'],
];

/** Which Confluence endpoint a request path (as ConfluenceClient builds it, relative to the API base) calls. */
export function confluenceEndpoint(path: string): ConfluenceEndpoint {
  const bare = path.split(/[?#]/, 1)[0];
  return ENDPOINTS.find(([pattern]) => pattern.test(bare))?.[1] ?? 'other';
}
