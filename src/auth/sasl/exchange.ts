import { decodeBase64, encodeBase64 } from './base64.ts';
import { decodeLoginField, LOGIN_PASSWORD_CHALLENGE, LOGIN_USERNAME_CHALLENGE } from './login.ts';
import { decodeOAuthBearer, encodeOAuthBearerFailure, type OAuthBearerFailure } from './oauthbearer.ts';
import { decodePlain } from './plain.ts';
import type { Decoded } from './result.ts';
import { decodeXOAuth2, encodeXOAuth2Failure } from './xoauth2.ts';

/** The SASL mechanisms Fingerpost implements, in the order it prefers to advertise them. */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * What an exchange yields once the client has said everything. Structurally the `password` and
 * `bearer` members of `Credentials` in `auth/types.ts`, so it can be passed to `authenticate`.
 */
export type SaslCredentials =
  | {
      readonly kind: 'password';
      readonly username: string;
      readonly password: string;
      readonly authzid?: string;
      readonly mechanism: 'PLAIN' | 'LOGIN';
    }
  | {
      readonly kind: 'bearer';
      readonly token: string;
      readonly username?: string;
      readonly host?: string;
      readonly port?: number;
      readonly mechanism: 'OAUTHBEARER' | 'XOAUTH2';
    };

/**
 * Why an exchange ended without credentials. Protocols map these onto their own wire:
 * `unsupported_mechanism` (IMAP NO, SMTP 504 5.5.4, POP3 -ERR), `cancelled` and `invalid_base64`
 * (IMAP BAD, SMTP 501, POP3 -ERR), `malformed` and `authentication_failed` (IMAP NO
 * [AUTHENTICATIONFAILED], SMTP 535 5.7.8, POP3 -ERR [AUTH]), `protocol_error` (a response after the end).
 */
export type SaslFailReason =
  | 'unsupported_mechanism'
  | 'cancelled'
  | 'invalid_base64'
  | 'malformed'
  | 'authentication_failed'
  | 'protocol_error';

export type SaslStep =
  /** Send a continuation: IMAP/POP3 `+ <text>`, SMTP `334 <text>`; `text` is '' for an empty challenge. */
  | { readonly kind: 'challenge'; readonly data: Uint8Array; readonly text: string }
  /** The client is done: call `AuthCore.authenticate`, then `reject()` if it fails. */
  | { readonly kind: 'credentials'; readonly credentials: SaslCredentials }
  | { readonly kind: 'failed'; readonly reason: SaslFailReason; readonly detail: string };

type State = 'new' | 'awaiting' | 'login_password' | 'credentials' | 'failure_challenge' | 'done';

function challenge(data: Uint8Array): SaslStep {
  return { kind: 'challenge', data, text: data.length ? encodeBase64(data) : '' };
}

/**
 * One server-side SASL exchange (RFC 4422 §3, §5), framed by IMAP AUTHENTICATE, SMTP AUTH or POP3
 * AUTH: `begin(initialResponse)`, then `respond(line)` for each client line until the step is
 * `credentials` or `failed`. A failed `authenticate` goes to `reject(failure.oauth)`, which for
 * OAUTHBEARER/XOAUTH2 sends the JSON error challenge first (RFC 7628 §3.2.2) and fails on the
 * client's dummy response. Pure: no I/O, never throws on client input.
 */
export class SaslExchange {
  readonly mechanism: SaslMechanism | undefined;
  #state: State = 'new';
  #loginUser = '';

  /** `mechanism` is compared case-insensitively against `offered` (what the listener advertises). */
  constructor(mechanism: string, offered: readonly string[]) {
    const upper = mechanism.toUpperCase();
    const known = (SASL_MECHANISMS as readonly string[]).includes(upper) && offered.some((m) => m.toUpperCase() === upper);
    this.mechanism = known ? (upper as SaslMechanism) : undefined;
  }

  /** True once the exchange produced credentials or failed. */
  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'credentials';
  }

  /**
   * Starts the exchange. `initialResponse` is the base64 text after the mechanism name (SASL-IR,
   * RFC 4959; `=` means a zero-length response), or undefined when the client sent none.
   */
  begin(initialResponse?: string): SaslStep {
    if (this.#state !== 'new') return this.#fail('protocol_error', 'the exchange has already started');
    if (!this.mechanism) return this.#fail('unsupported_mechanism', 'the mechanism is not offered here');
    this.#state = 'awaiting';
    if (initialResponse === undefined) {
      if (this.mechanism === 'LOGIN') return challenge(LOGIN_USERNAME_CHALLENGE);
      return challenge(new Uint8Array());
    }
    return this.#receive(initialResponse === '=' ? '' : initialResponse);
  }

  /** Handles one client line in answer to a challenge; `*` cancels (RFC 4422 §3.5). */
  respond(line: string): SaslStep {
    if (this.#state === 'new' || this.#state === 'done' || this.#state === 'credentials')
      return this.#fail('protocol_error', 'no challenge is outstanding');
    if (line === '*') return this.#fail('cancelled', 'the client cancelled the exchange');
    // Some clients send "=" for an empty continuation too; it is unambiguous, so accept it.
    return this.#receive(line === '=' ? '' : line);
  }

  /**
   * After `authenticate` failed: for OAUTHBEARER/XOAUTH2 with challenge data, the JSON error
   * challenge (the client answers 0x01 or an empty line, then the exchange fails); otherwise the
   * final failure.
   */
  reject(oauth?: OAuthBearerFailure): SaslStep {
    if (this.#state !== 'credentials') return this.#fail('protocol_error', 'no credentials to reject');
    if (oauth && this.mechanism === 'OAUTHBEARER') {
      this.#state = 'failure_challenge';
      return challenge(encodeOAuthBearerFailure(oauth));
    }
    if (oauth && this.mechanism === 'XOAUTH2') {
      this.#state = 'failure_challenge';
      const status = oauth.status === 'insufficient_scope' ? '403' : oauth.status === 'invalid_request' ? '400' : '401';
      return challenge(encodeXOAuth2Failure({ status, schemes: 'bearer', scope: oauth.scope ?? '' }));
    }
    return this.#fail('authentication_failed', 'authentication failed');
  }

  #fail(reason: SaslFailReason, detail: string): SaslStep {
    this.#state = 'done';
    return { kind: 'failed', reason, detail };
  }

  #done(credentials: SaslCredentials): SaslStep {
    this.#state = 'credentials';
    return { kind: 'credentials', credentials };
  }

  #receive(text: string): SaslStep {
    const bytes = decodeBase64(text);
    if (!bytes.ok) return this.#fail(bytes.code === 'invalid_base64' ? 'invalid_base64' : 'malformed', bytes.detail);
    const data = bytes.value;
    if (this.#state === 'failure_challenge') {
      // RFC 7628 §3.2.3: whatever the client answers, the exchange now fails.
      return this.#fail('authentication_failed', 'authentication failed');
    }
    switch (this.mechanism) {
      case 'PLAIN': {
        const m = decodePlain(data);
        if (!m.ok) return this.#malformed(m);
        return this.#done({
          kind: 'password',
          username: m.value.authcid,
          password: m.value.password,
          ...(m.value.authzid ? { authzid: m.value.authzid } : {}),
          mechanism: 'PLAIN',
        });
      }
      case 'LOGIN': {
        if (this.#state === 'awaiting') {
          const user = decodeLoginField(data, 'user name');
          if (!user.ok) return this.#malformed(user);
          this.#loginUser = user.value;
          this.#state = 'login_password';
          return challenge(LOGIN_PASSWORD_CHALLENGE);
        }
        const password = decodeLoginField(data, 'password');
        if (!password.ok) return this.#malformed(password);
        return this.#done({ kind: 'password', username: this.#loginUser, password: password.value, mechanism: 'LOGIN' });
      }
      case 'OAUTHBEARER': {
        const m = decodeOAuthBearer(data);
        if (!m.ok) return this.#malformed(m);
        if (m.value.kind === 'dummy') return this.#fail('malformed', 'a 0x01 response is only valid after a failure challenge');
        const { authzid, host, port, token } = m.value;
        return this.#done({
          kind: 'bearer',
          token,
          ...(authzid !== undefined ? { username: authzid } : {}),
          ...(host !== undefined ? { host } : {}),
          ...(port !== undefined ? { port } : {}),
          mechanism: 'OAUTHBEARER',
        });
      }
      case 'XOAUTH2': {
        const m = decodeXOAuth2(data);
        if (!m.ok) return this.#malformed(m);
        return this.#done({ kind: 'bearer', token: m.value.token, username: m.value.user, mechanism: 'XOAUTH2' });
      }
      default:
        return this.#fail('unsupported_mechanism', 'the mechanism is not offered here');
    }
  }

  #malformed(err: Decoded<unknown> & { ok: false }): SaslStep {
    return this.#fail('malformed', err.detail);
  }
}
