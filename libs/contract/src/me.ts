export interface MeView {
  accountId: string;
  tenantId: string;
  siteUrl: string | null;
  isSiteAdmin: boolean;
  canSend: boolean;
  /** Why the user may not send here (names the allowed groups), when canSend is false. */
  cannotSendReason?: string;
  local: boolean;
}
