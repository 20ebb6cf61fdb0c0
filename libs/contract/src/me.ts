export interface MeView {
  accountId: string;
  tenantId: string;
  siteUrl: string | null;
  isSiteAdmin: boolean;
  canSend: boolean;
  local: boolean;
}
