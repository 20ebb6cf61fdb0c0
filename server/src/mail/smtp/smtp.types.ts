/** Where and how to reach a customer's mail server, as the admin configured it. */
export interface SmtpTarget {
  /** Pool key chosen by the caller (tenant id + settings revision); same key = same pool. */
  key: string;
  /** As the admin typed it (name or IP). */
  host: string;
  port: number;
  /** tls = implicit TLS (465); starttls = STARTTLS required; none = plain (the admin chose it explicitly). */
  security: 'tls' | 'starttls' | 'none';
  auth: SmtpPasswordAuth | SmtpOAuth2Auth | null;
  /** Optional PEM to trust in addition to the default trust store (tests use this). */
  trustedCa?: string;
  /** The operator's own relay (PROVIDED_SMTP_URL): exempt from the customer host guard; TLS rules still apply. */
  operatorRelay?: boolean;
}

/** AUTH PLAIN/LOGIN with a username and password. */
export interface SmtpPasswordAuth {
  type?: 'password';
  user: string;
  pass: string;
}

/** AUTH XOAUTH2 with an access token from the tenant's identity provider (Microsoft 365, Google). */
export interface SmtpOAuth2Auth {
  type: 'oauth2';
  /** The mailbox the token is for. */
  user: string;
  tokens: AccessTokenSource;
}

export interface AccessToken {
  accessToken: string;
  /** Epoch ms after which this token is not handed out again (a little before it really expires). */
  renewAt: number;
}

/** Hands out access tokens for one OAuth2 credential, cached until shortly before they expire. */
export interface AccessTokenSource {
  /** Identifies the credential (a keyed hash, never the secret): part of the pool fingerprint. */
  readonly id: string;
  /** `fresh`: the server refused the last token, so skip the cache and ask the identity provider again. */
  getToken(fresh: boolean): Promise<AccessToken>;
  /** How many tokens were fetched from the identity provider so far (to tell whether a retry got a new one). */
  readonly fetches: number;
}

export interface SmtpEnvelope {
  from: string;
  to: string[];
}

export interface SmtpSendResult {
  accepted: string[];
  rejected: string[];
  /** SMTP reply code of the final reply. */
  code: number | null;
  /** How many attempts the send took (more than 1 after a transient failure before the message was sent). */
  attempts: number;
}
