import { describe, expect, it } from 'vitest';
import { confluenceEndpoint } from './confluence-endpoint';

describe('Confluence endpoint labels', () => {
  it('names each call the adapter makes by its shape, never by its ids or query', () => {
    const cases: [string, string][] = [
      ['/wiki/rest/api/user/current?expand=operations', 'current_user'],
      ['/wiki/rest/api/user/memberof?accountId=alice&start=0&limit=200', 'groups'],
      ['/wiki/rest/api/group/picker?query=writ&limit=20', 'group_search'],
      ['/wiki/rest/api/group/by-name?name=writers', 'group'],
      ['/wiki/rest/api/group/0f5e0c9a-1b2c/membersByGroupId?start=0&limit=200', 'group_members'],
      ['/wiki/rest/api/user?accountId=alice', 'user'],
      ['/wiki/rest/api/user/email?accountId=5b10ac8d82e05b22cc7d4ef5', 'user_email'],
      ['/wiki/rest/api/search/user?cql=user.fullname~%22Ann%22&limit=20', 'user_search'],
      ['/wiki/api/v2/spaces?keys=DOCS&limit=1', 'spaces'],
      ['/wiki/api/v2/spaces/98305/operations', 'space_operations'],
      ['/wiki/api/v2/spaces/98305', 'space'],
      ['/wiki/api/v2/pages/163845?body-format=export_view', 'page'],
      ['/wiki/api/v2/pages/163845/attachments?limit=250&cursor=abc', 'attachments'],
      ['/wiki/api/v2/attachments/att163848', 'attachment'],
      ['/wiki/rest/api/content/163845/child/attachment/att163848/download', 'attachment_download'],
      ['/wiki/rest/api/content/163845', 'other'],
      ['/wiki/api/v2/pages/1/../../admin', 'other'],
    ];
    for (const [path, label] of cases) expect([path, confluenceEndpoint(path)]).toEqual([path, label]);
  });
});
