import type { Config } from './config.ts';

/**
 * The resource identifiers (RFC 8707) this server answers for: the `aud` a token must carry to be
 * used here, and what clients ask the issuer for. Non-HTTP services use `scheme://hostname`.
 */
export interface ResourceIds {
  readonly imap: string;
  readonly pop3: string;
  /** Used for both inbound SMTP and submission. */
  readonly smtp: string;
  /** ManageSieve (RFC 5804 §3: the `sieve://` URL scheme). */
  readonly sieve: string;
  /** The JMAP session URL (RFC 8620 §2), target of `/.well-known/jmap`. */
  readonly jmap: string;
  /** The calendar base URL (free/busy, .ics objects). */
  readonly calendar: string;
}

/** The resource identifiers derived from `server.hostname` and the public URL. */
export function resourceIds(config: Pick<Config, 'server' | 'publicUrl'>): ResourceIds {
  const host = config.server.hostname;
  return {
    imap: `imap://${host}`,
    pop3: `pop3://${host}`,
    smtp: `smtp://${host}`,
    sieve: `sieve://${host}`,
    jmap: `${config.publicUrl}/jmap/session`,
    calendar: `${config.publicUrl}/calendar`,
  };
}

/** OAuth scopes (draft-ietf-mailmaint-oauth-public): mail covers IMAP, POP3, SMTP and JMAP mail. */
export const SCOPES = {
  mail: 'urn:ietf:params:oauth:scope:mail',
  calendars: 'urn:ietf:params:oauth:scope:calendars',
  contacts: 'urn:ietf:params:oauth:scope:contacts',
} as const;
