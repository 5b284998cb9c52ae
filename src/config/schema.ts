import { z } from 'zod';
import { parseDuration } from './duration.ts';

/** A duration written as seconds or with a unit (`30s`, `10m`); parsed to milliseconds. */
const duration = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30, "30s", "10m" or "2h"' });
        return z.NEVER;
      }
      return ms;
    });

const port = (fallback: number) =>
  z.number().int().min(0, 'expected a port between 0 and 65535').max(65535, 'expected a port between 0 and 65535').default(fallback);

const bind = z.string().min(1).default('0.0.0.0');

/** Settings every TCP listener shares (net/ applies them). */
const listenerCommon = {
  enabled: z.boolean().default(true),
  bind,
  /** Accept a PROXY protocol v1/v2 header, but only from these addresses (CIDR or exact). */
  proxy_protocol: z.boolean().default(false),
  proxy_from: z.array(z.string()).default(['127.0.0.1/32', '::1/128']),
  /** Override of `auth.plain` for this listener. */
  auth_plain: z.boolean().optional(),
  /** Override of `auth.oauth` for this listener. */
  auth_oauth: z.boolean().optional(),
};

/** A mail protocol with a cleartext+STARTTLS port and an implicit-TLS port. */
const dualListener = (plainPort: number, tlsPort: number) =>
  z
    .object({
      ...listenerCommon,
      port: port(plainPort),
      tls_port: port(tlsPort),
    })
    .strict()
    .prefault({});

const issuer = z
  .object({
    /** Issuer identifier, compared exactly with `iss` (RFC 9068 §4 step 3). */
    issuer: z.url({ protocol: /^https?$/ }),
    /** JWKS URL; discovered from issuer metadata when empty. */
    jwks_uri: z.string().default(''),
    /** A local JWKS file for offline setups; used instead of fetching. */
    jwks_file: z.string().default(''),
    /** Accepted `aud` values. Empty: this server's resource identifiers (imap://host, …). */
    audiences: z.array(z.string()).default([]),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
      .default(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA']),
    /** Claim naming the account: an address, or a local part completed with `claim_domain`. */
    claim: z.string().default('email'),
    claim_domain: z.string().default(''),
    /** Domains this issuer may sign in; empty means every local domain. */
    domains: z.array(z.string()).default([]),
    /** Require `typ: at+jwt` (RFC 9068). Off for issuers that mint plain JWTs (Entra ID v1, Google). */
    require_at_jwt: z.boolean().default(true),
    /** RFC 7662 introspection; empty to validate JWTs locally only. */
    introspection_endpoint: z.string().default(''),
    client_id: z.string().default(''),
    client_secret: z.string().default(''),
    introspection_cache: duration('30s'),
    /** Ask the userinfo endpoint when a token is not a JWT (opaque tokens, e.g. Google). */
    userinfo: z.boolean().default(false),
    /** Accept OIDC back-channel logout tokens from this issuer. */
    backchannel_logout: z.boolean().default(true),
    /** Scope strings that grant mail access (IMAP, POP3, SMTP, JMAP); a token needs one. Empty: no scope needed. */
    mail_scopes: z.array(z.string()).default(['urn:ietf:params:oauth:scope:mail']),
    /** Scope strings that grant calendar access; a token needs one. Empty: no scope needed. */
    calendar_scopes: z.array(z.string()).default(['urn:ietf:params:oauth:scope:calendars']),
    /** Extra PEM CA certificates trusted for this issuer's HTTPS endpoints (private CAs). */
    ca_file: z.string().default(''),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        /** The public host name: certificates, greetings, resource identifiers. */
        hostname: z.string().min(1).default('localhost'),
        /** Display name used in greetings and pages. */
        name: z.string().default('Fingerpost'),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        /** Empty: SQLite at DATA/fingerpost.db. Otherwise `postgres://user@host:5432/db`. */
        url: z
          .string()
          .default('')
          .refine((u) => u === '' || /^postgres(ql)?:\/\//.test(u), 'expected "" (SQLite) or a postgres:// URL'),
        pool_size: z.number().int().min(1).max(200).default(10),
        /** Wait this long on a locked SQLite database before failing. */
        busy_timeout: duration('5s'),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        /** PEM certificate chain and key. Empty: the local CA in DATA/tls issues one. */
        cert: z.string().default(''),
        key: z.string().default(''),
        min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        enabled: z.boolean().default(true),
        bind,
        port: port(8443),
        /** The URL clients use; defaults to https://HOSTNAME:PORT. */
        public_url: z.string().default(''),
        proxy_protocol: z.boolean().default(false),
        proxy_from: z.array(z.string()).default(['127.0.0.1/32', '::1/128']),
        /** Addresses allowed to read /metrics. */
        metrics_from: z.array(z.string()).default(['127.0.0.1/32', '::1/128']),
        /** Largest request body, in bytes. */
        body_limit: z
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    imap: dualListener(1143, 1993),
    pop3: dualListener(1110, 1995),
    submission: z
      .object({
        ...listenerCommon,
        port: port(1587),
        tls_port: port(1465),
        /** Relaying to remote domains needs an authenticated session (RFC 6409 §4.3). */
        require_auth_for_relay: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    smtp: z
      .object({
        ...listenerCommon,
        port: port(2525),
        /** Largest message accepted, in bytes (announced in EHLO SIZE). */
        max_message_bytes: z
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        /** Allow password mechanisms (PLAIN, LOGIN, IMAP LOGIN, POP3 USER/PASS, HTTP Basic). Never on cleartext. */
        plain: z.boolean().default(true),
        /** Allow bearer tokens (OAUTHBEARER, XOAUTH2, HTTP Bearer). */
        oauth: z.boolean().default(true),
        /** Trust the embedded OpenID provider as an issuer. */
        embedded_issuer: z.boolean().default(true),
        issuers: z.array(issuer).default([]),
        /** Allowed clock skew for exp/nbf/iat. */
        leeway: duration('60s'),
        /** End a session when its token expires. */
        end_session_on_expiry: z.boolean().default(true),
        /** Host names besides `server.hostname` that OAUTHBEARER `host=` may name (RFC 7628 §3.2). */
        hostnames: z.array(z.string()).default([]),
        /** HTTP authentication schemes, tried in this order (Basic still follows `auth.plain`). */
        http_schemes: z.array(z.enum(['bearer', 'basic', 'gateway'])).default(['bearer', 'basic']),
        /** Trusted gateway header (a reverse proxy that already authenticated the user). */
        gateway: z
          .object({
            /** Request header carrying the account address. */
            header: z.string().min(1).default('X-User'),
            /** Proxy addresses (CIDR or exact) the header is honoured from. */
            from: z.array(z.string()).default([]),
            /** Shared secret the proxy sends in `X-Fingerpost-Gateway-Secret`. */
            secret: z.string().default(''),
          })
          .strict()
          .prefault({}),
    limits: z
      .object({
        connections_total: z.number().int().min(1).default(10_000),
        connections_per_ip: z.number().int().min(1).default(200),
        /** Close idle connections after this long (IMAP needs at least 30 minutes, RFC 9051 §5.4). */
        idle_timeout: duration('30m'),
        /** Time allowed for the TLS handshake and the PROXY header. */
        handshake_timeout: duration('20s'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The raw TOML-shaped input the schema accepts. */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated, defaulted configuration. */
export type ConfigData = z.output<typeof configSchema>;
export type IssuerConfig = z.output<typeof issuer>;
