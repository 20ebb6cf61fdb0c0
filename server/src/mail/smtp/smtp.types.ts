/** Where and how to reach a customer's mail server, as the admin configured it. */
export interface SmtpTarget {
  /** Pool key chosen by the caller (tenant id + settings revision); same key = same pool. */
  key: string;
  /** As the admin typed it (name or IP). */
  host: string;
  port: number;
  /** tls = implicit TLS (465); starttls = STARTTLS required; none = plain (the admin chose it explicitly). */
  security: 'tls' | 'starttls' | 'none';
  auth: { user: string; pass: string } | null;
  /** Optional PEM to trust in addition to the default trust store (tests use this). */
  trustedCa?: string;
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
}
