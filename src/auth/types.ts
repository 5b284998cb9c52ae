import type { DirectoryAccount } from '../directory/directory.ts';

/**
 * The authentication core's contract (docs/architecture.md). Protocol adapters decode
 * their wire input into `Credentials`, call `AuthCore.authenticate`, and write the `AuthResult` or
 * `AuthFailure` back in their own protocol. No adapter decides policy.
 */

/** Where a credential is presented. `http` covers JMAP, calendars and web pages. */
export type AuthProtocol = 'imap' | 'pop3' | 'smtp' | 'submission' | 'managesieve' | 'http';

/** What an adapter decoded from the wire. */
export type Credentials =
  /**
   * SASL PLAIN/LOGIN, IMAP LOGIN, POP3 USER/PASS, HTTP Basic: may also be an app password.
   * `FORM` is the embedded provider's sign-in page: the account password only, and `auth.plain`
   * (which governs protocol listeners) does not apply to it.
   */
  | {
      readonly kind: 'password';
      readonly username: string;
      readonly password: string;
      /** SASL authorization identity, when given and different from `username`. */
      readonly authzid?: string;
      readonly mechanism: 'PLAIN' | 'LOGIN' | 'IMAP-LOGIN' | 'USER' | 'BASIC' | 'FORM';
    }
  /** SASL OAUTHBEARER / XOAUTH2, HTTP Bearer. */
  | {
      readonly kind: 'bearer';
      readonly token: string;
      /** OAUTHBEARER `a=` authzid or XOAUTH2 `user=`; must match the token's account when present. */
      readonly username?: string;
      /** OAUTHBEARER `host` / `port` (RFC 7628 §3.2: must match the listener when present). */
      readonly host?: string;
      readonly port?: number;
      readonly mechanism: 'OAUTHBEARER' | 'XOAUTH2' | 'BEARER';
    }
  /** A trusted gateway header (HTTP only), already checked for address and shared secret by the HTTP strategy. */
  | { readonly kind: 'gateway'; readonly username: string };

/** The connection a credential arrived on. */
export interface AuthContext {
  readonly protocol: AuthProtocol;
  /** Listener name from net/ (`imap`, `imaps`, `submission`, `https`, …), for per-listener policy. */
  readonly listener: string;
  /** Client IP (PROXY-aware). */
  readonly remote: string;
  /** True when TLS protects the connection. Credentials are refused on cleartext. */
  readonly tls: boolean;
  /** The port the client connected to, for OAUTHBEARER `port` checks. */
  readonly localPort?: number;
  /** The address the client connected to; an OAUTHBEARER `host` that is an IP literal must equal it when given. */
  readonly localAddress?: string;
  /** The HTTP resource the token must be for (JMAP session URL, calendar URL), when `protocol` is `http`. */
  readonly resource?: string;
  /** Which access the request needs; default: `calendars` for the calendar resource, else `mail`. */
  readonly scope?: 'mail' | 'calendars' | 'contacts';
  /**
   * A device the caller verified as having signed in to the claimed account before (the sign-in
   * page's signed device cookie): the failure limits let it through even from a banned address.
   */
  readonly device?: string;
}

/** How a session was authenticated. */
export type AuthMethod = 'password' | 'app_password' | 'bearer' | 'gateway';

export interface AuthResult {
  readonly ok: true;
  readonly account: DirectoryAccount;
  readonly method: AuthMethod;
  /** Granted scopes (bearer tokens); empty for passwords, which carry full access. */
  readonly scopes: readonly string[];
  /** App-password id, or the token's `jti`; what revocation matches on. */
  readonly credentialId?: string;
  /** OIDC session id (`sid`) of the login that minted the token, for back-channel logout. */
  readonly sessionId?: string;
  /** Token issuer, for bearer sessions. */
  readonly issuer?: string;
  /**
   * When the credential stops being accepted, epoch ms: a token's `exp` plus `auth.leeway` (the
   * instant every protocol starts refusing it), an app password's expiry. Sessions end then.
   */
  readonly expiresAt?: number;
}

/** Machine-readable failure reasons; the public text never says which part of a credential was wrong. */
export type AuthFailureCode =
  /** Wrong user or password, unknown user, bad app password: one answer for all (no enumeration). */
  | 'invalid_credentials'
  /** A bearer token that is malformed, expired, revoked, for another audience, or from an unknown issuer. */
  | 'invalid_token'
  /** A valid token without the scope this protocol needs (HTTP 403). */
  | 'insufficient_scope'
  /** Account disabled, or an app password used on a protocol it was not created for. */
  | 'authorization_failed'
  /** The mechanism is not allowed on this listener (plain passwords off, cleartext connection). */
  | 'policy'
  /** Too many failures: slow down (with `retryAfterMs`). */
  | 'rate_limited'
  /** The credential was well-formed but the server cannot check it now (issuer unreachable). */
  | 'temporary';

export interface AuthFailure {
  readonly ok: false;
  readonly code: AuthFailureCode;
  /** A short sentence safe to show the client (never a secret, never which part was wrong). */
  readonly publicReason: string;
  /** For Bearer/SASL challenges: RFC 6750 `error_description`-style text (expired, revoked, wrong audience). */
  readonly tokenError?: string;
  /**
   * A genuine token whose lifetime (`exp` + `auth.leeway`) has passed: the client should refresh
   * it (IMAP `[EXPIRED]`, RFC 5530 §3). Never set for a token without `exp` or any other refusal.
   */
  readonly expired?: true;
  /** RFC 7628 §3.2.2 challenge data for OAUTHBEARER/XOAUTH2 failures. */
  readonly oauth?: {
    readonly status: string;
    readonly scope?: string;
    readonly openidConfiguration?: string;
  };
  readonly retryAfterMs?: number;
}

export type AuthOutcome = AuthResult | AuthFailure;

/** What a listener allows, decided by config (`auth.plain`, `auth.oauth`, per-listener overrides) and TLS. */
export interface ListenerPolicy {
  /** Password mechanisms allowed at all on this listener (still never before TLS). */
  readonly plain: boolean;
  readonly oauth: boolean;
  /** SASL mechanisms to advertise now, given whether TLS is up. Empty before TLS. */
  mechanisms(tls: boolean): readonly string[];
  /** SMTP only: relaying to remote domains needs an authenticated session. */
  readonly requireAuthForRelay: boolean;
}

/** A live authenticated connection as the session registry tracks it. */
export interface LiveSession {
  readonly id: string;
  readonly accountId: number;
  readonly address: string;
  readonly protocol: AuthProtocol;
  readonly listener: string;
  readonly remote: string;
  readonly method: AuthMethod;
  readonly credentialId?: string;
  readonly sessionId?: string;
  readonly issuer?: string;
  readonly expiresAt?: number;
  readonly startedAt: number;
}

/** Why a session is being ended; protocols put it in their goodbye (IMAP BYE, SMTP 421, POP3 -ERR). */
export type EndReason = 'revoked' | 'expired' | 'credentials_changed' | 'account_disabled' | 'logout' | 'admin';

/** The handle a protocol keeps after registering; `end` is the protocol's own goodbye. */
export interface SessionRegistration {
  readonly session: LiveSession;
  /** Call when the connection closes for any reason. */
  unregister(): void;
}

/** The entry point every protocol and HTTP use. */
export interface AuthCore {
  authenticate(credentials: Credentials, context: AuthContext): Promise<AuthOutcome>;
  policy(listener: string): ListenerPolicy;
  /**
   * Registers an authenticated connection; `end(reason)` is called when its credential is revoked,
   * its token expires (per `auth.end_session_on_expiry`), or an admin ends it.
   */
  register(result: AuthResult, context: AuthContext, end: (reason: EndReason) => void): SessionRegistration;
}
