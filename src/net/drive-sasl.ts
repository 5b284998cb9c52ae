import type { SaslCredentials, SaslExchange, SaslFailReason } from '../auth/sasl/exchange.ts';
import type { OAuthBearerFailure } from '../auth/sasl/oauthbearer.ts';

/** The client's answer to a challenge, as the protocol's reader saw it. */
export type SaslLine = { readonly kind: 'line'; readonly text: string } | { readonly kind: 'closed' } | { readonly kind: 'too_long' };

/** What the loop needs of an authentication result: success, or a failure code and RFC 7628 data. */
export type SaslVerdict = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly oauth?: OAuthBearerFailure };

/** The protocol's side of the exchange: its challenge framing and the credential check. */
export interface SaslIo<V extends SaslVerdict> {
  /** Sends a challenge (IMAP/POP3 `+ text`, SMTP `334 text`), flushes, and reads the client's line. */
  challenge(text: string): Promise<SaslLine>;
  /** Checks the credentials the exchange produced (AuthCore.authenticate). */
  authenticate(credentials: SaslCredentials): Promise<V>;
}

/** How an exchange ended; each protocol words it in its own replies. */
export type SaslEnd<V> =
  /** The connection closed, or a response line was over the limit, during the exchange. */
  | { readonly kind: 'closed' }
  | { readonly kind: 'too_long' }
  /** The exchange failed before credentials were checked (unknown mechanism, `*`, bad base64, malformed). */
  | { readonly kind: 'failed'; readonly reason: SaslFailReason }
  /** Credentials were checked: success, or a failure to answer at once. */
  | { readonly kind: 'verdict'; readonly verdict: V }
  /** Checked and refused after the RFC 7628 §3.2.2 failure challenge; `reason` is the exchange's last word. */
  | { readonly kind: 'rejected'; readonly verdict: V; readonly reason: SaslFailReason };

/**
 * The one SASL exchange loop of IMAP AUTHENTICATE (RFC 9051 §6.2.2), SMTP AUTH (RFC 4954 §4) and
 * POP3 AUTH (RFC 5034 §4) (RFC 4422 §3): challenges until the exchange yields credentials or fails,
 * one credential check, and for a refused bearer token the error challenge and the client's dummy
 * answer (RFC 7628 §3.2.3). A temporary or rate-limit refusal ends at once, with no challenge.
 */
export async function driveSasl<V extends SaslVerdict>(
  exchange: SaslExchange,
  initial: string | undefined,
  io: SaslIo<V>,
): Promise<SaslEnd<V>> {
  let step = exchange.begin(initial);
  for (;;) {
    if (step.kind === 'challenge') {
      const line = await io.challenge(step.text);
      if (line.kind !== 'line') return line;
      step = exchange.respond(line.text);
      continue;
    }
    if (step.kind === 'failed') return { kind: 'failed', reason: step.reason };
    const verdict = await io.authenticate(step.credentials);
    if (verdict.ok || verdict.code === 'temporary' || verdict.code === 'rate_limited') return { kind: 'verdict', verdict };
    const next = exchange.reject(verdict.oauth);
    if (next.kind !== 'challenge') return { kind: 'verdict', verdict };
    const line = await io.challenge(next.text);
    if (line.kind !== 'line') return line;
    const last = exchange.respond(line.text);
    return { kind: 'rejected', verdict, reason: last.kind === 'failed' ? last.reason : 'authentication_failed' };
  }
}
