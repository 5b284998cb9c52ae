/** The outcome of checking one service endpoint (one line of `fingerpost check` output). */
export interface CheckResult {
  readonly service: string;
  /** `host:port TLS|STARTTLS` or the URL. */
  readonly endpoint: string;
  readonly mechanism: string;
  readonly ok: boolean;
  /** What happened: the server's own words on failure (never a token). */
  readonly detail: string;
  /** What to do about a failure, when it is a known one. */
  readonly advice?: string;
  /** True when the failure looks temporary (network, 4xx SMTP, UNAVAILABLE). */
  readonly temporary?: boolean;
}

/** Which SASL mechanism a check uses. */
export type Mechanism = 'OAUTHBEARER' | 'XOAUTH2';
