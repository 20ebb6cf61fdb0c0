/** The sandbox's demo Confluence site: users, groups, spaces. Local mode and the tests use the same data. */
export interface DemoUser {
  accountId: string;
  displayName: string;
  /** null: the user hides their email (Confluence privacy setting). */
  email: string | null;
  /** Only the app can read a hidden email (`/user/email`). */
  realEmail: string;
  groups: string[];
  siteAdmin: boolean;
}

export const DEMO_CLOUD_ID = 'c10ud000-0000-4000-8000-00000000c0de';
export const DEMO_INSTALLATION_ID = '1a57a11e-0000-4000-8000-00000000c0de';
export const DEMO_APP_ID = 'ari:cloud:ecosystem::app/0a11ce00-0000-4000-8000-00000000beef';

export const DEMO_USERS: DemoUser[] = [
  { accountId: 'sandbox-admin', displayName: 'Sam Admin', email: 'sam.admin@example.com', realEmail: 'sam.admin@example.com', groups: ['confluence-administrators', 'confluence-users'], siteAdmin: true },
  { accountId: 'alice', displayName: 'Alice Writer', email: 'alice@example.com', realEmail: 'alice@example.com', groups: ['confluence-users', 'writers'], siteAdmin: false },
  { accountId: 'bob', displayName: 'Bob Reader', email: 'bob@example.com', realEmail: 'bob@example.com', groups: ['confluence-users'], siteAdmin: false },
  { accountId: 'carol', displayName: 'Carol Hidden', email: null, realEmail: 'carol@example.com', groups: ['confluence-users', 'writers'], siteAdmin: false },
];
