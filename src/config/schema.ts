import { isIP } from 'node:net';
import { FilterParser } from 'ldapts';
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

/** A DNS host name (RFC 1123 §2.1 labels) or an IPv4 literal: it goes into URLs, certificates and greetings as is. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** True for an IP address or a CIDR range (`192.0.2.7`, `10.0.0.0/8`, `::1/128`), as net/cidr.ts reads them. */
function isAddressOrRange(entry: string): boolean {
  const [addr, bits, extra] = entry.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** A list of client or proxy addresses; a typo is a start-up error, not a crash when the listener starts. */
const addressList = (fallback: string[]) =>
  z.array(z.string().refine(isAddressOrRange, 'expected an IP address or CIDR range such as 10.0.0.0/8 or ::1/128')).default(fallback);

/** Settings every TCP listener shares (net/ applies them). */
const listenerCommon = {
  enabled: z.boolean().default(true),
  bind,
  /** Accept a PROXY protocol v1/v2 header, but only from these addresses (CIDR or exact). */
  proxy_protocol: z.boolean().default(false),
  proxy_from: addressList(['127.0.0.1/32', '::1/128']),
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
    /** Require the RFC 9068 §2.2 claims `sub`, `client_id`, `iat` and `jti`. Off for issuers that leave some out. */
    require_rfc9068_claims: z.boolean().default(true),
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
    /** Scope strings that grant address book access (CardDAV); a token needs one. Empty: no scope needed. */
    contacts_scopes: z.array(z.string()).default(['urn:ietf:params:oauth:scope:contacts']),
    /** Extra PEM CA certificates trusted for this issuer's HTTPS endpoints (private CAs). */
    ca_file: z.string().default(''),
    /**
     * Offer this issuer on the account page's sign-in (OIDC authorization code flow as the
     * confidential client `client_id`/`client_secret`, redirect URI `PUBLIC_URL/account/callback`).
     */
    account_sign_in: z.boolean().default(false),
  })
  .strict();

/** True when ldapts parses `text` as one RFC 4515 filter. */
function parsesAsFilter(text: string): boolean {
  try {
    FilterParser.parseString(text);
    return true;
  } catch {
    return false;
  }
}

const attributeName = z.string().regex(/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/, 'expected an LDAP attribute name such as mail');
const optionalAttribute = z.union([z.literal(''), attributeName]).default('');

/** One LDAP account source (docs/identity-providers/ldap.md); its domains are read from it, not from SQL. */
const ldapSource = z
  .object({
    /** A name for logs and errors; default `ldapN`. */
    name: z.string().default(''),
    /** Mail domains whose accounts come from this directory. */
    domains: z.array(z.string().min(1)).min(1, 'expected at least one domain'),
    /** Servers, tried in this order: ldaps://host[:port], or ldap://host[:port] with start_tls. */
    urls: z
      .array(z.string().regex(/^ldaps?:\/\/[^/?#\s]+\/?$/, 'expected ldaps://host[:port] or ldap://host[:port]'))
      .min(1, 'expected at least one server URL'),
    /** Upgrade ldap:// connections with StartTLS (RFC 4511 §4.14); passwords never cross in clear. */
    start_tls: z.boolean().default(false),
    /** Extra PEM CA certificates trusted for the servers (a private CA). */
    ca_file: z.string().default(''),
    /** The service account that searches; empty: anonymous searches. */
    bind_dn: z.string().default(''),
    bind_password: z.string().default(''),
    /** Where accounts are searched (subtree), e.g. ou=people,dc=example,dc=org. */
    base_dn: z.string().min(1, 'expected the DN accounts are searched under'),
    user_filter: z
      .string()
      .default('(objectClass=inetOrgPerson)')
      .refine(parsesAsFilter, 'expected an LDAP filter such as (objectClass=inetOrgPerson)'),
    mail_attribute: attributeName.default('mail'),
    /** Attributes with further addresses of the account (aliases). */
    alias_attributes: z.array(attributeName).default(['mailAlternateAddress']),
    name_attribute: attributeName.default('cn'),
    /** Attribute with the storage quota in octets; empty: quotas are set with `fingerpost admin quota`. */
    quota_attribute: optionalAttribute,
    /** Attribute whose value (one of `disabled_values`, any case) disables the account; empty: none. */
    status_attribute: optionalAttribute,
    disabled_values: z.array(z.string()).default(['disabled', 'inactive', 'locked']),
    /** Group whose members (by `group_member_attribute` = the account's DN) are administrators; empty: none. */
    admin_group_dn: z.string().default(''),
    group_member_attribute: attributeName.default('member'),
    /** Connections kept per server for searches. */
    pool_size: z.number().int().min(1).max(64).default(4),
    /** Longest wait for a connection, bind or search before the server counts as down. */
    timeout: duration('3s'),
    /** How long a server that failed is skipped before it is tried again. */
    retry_after: duration('10s'),
    /** How long what LDAP said about an address is reused: changes in LDAP are seen within it. */
    cache_ttl: duration('60s'),
    cache_size: z.number().int().min(1).default(10_000),
  })
  .strict()
  .superRefine((source, ctx) => {
    if (!source.start_tls && source.urls.some((u) => u.startsWith('ldap://')))
      ctx.addIssue({
        code: 'custom',
        path: ['urls'],
        message: 'an ldap:// server would see passwords in clear: use ldaps:// or set start_tls = true',
      });
  });

export const configSchema = z
  .object({
    server: z
      .object({
        /** The public host name: certificates, greetings, resource identifiers. */
        hostname: z
          .string()
          .regex(HOST_NAME, 'expected a DNS host name such as mail.example.com (or an IPv4 address), without scheme, port or path')
          .default('localhost'),
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
        /** Where message bodies and uploads live: files under DATA/blobs, the database, or an S3 bucket (the last two shared by every node). */
        blobs: z.enum(['files', 'database', 's3']).default('files'),
        /** The bucket of `blobs = "s3"` (src/store/blobs-s3.ts). */
        s3: z
          .object({
            /** `http(s)://host:port` of an S3-compatible server; empty: AWS by region. */
            endpoint: z
              .string()
              .default('')
              .refine((u) => u === '' || /^https?:\/\/[^/]+\/?$/.test(u), 'expected "" (AWS) or http(s)://host:port'),
            region: z.string().default('us-east-1'),
            bucket: z
              .string()
              .default('')
              .refine((b) => b === '' || /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b), 'expected an S3 bucket name (3-63 of a-z 0-9 . -)'),
            prefix: z.string().max(200).default('blobs/'),
            /** Empty: the SDK's own chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, instance roles). */
            access_key_id: z.string().default(''),
            secret_access_key: z.string().default(''),
            path_style: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .refine((s) => s.blobs !== 's3' || s.s3.bucket !== '', {
        message: 'store.blobs = "s3" needs store.s3.bucket',
        path: ['s3', 'bucket'],
      })
      .prefault({}),
    tls: z
      .object({
        /** PEM certificate chain and key. Empty: the local CA in DATA/tls issues one. */
        cert: z.string().default(''),
        key: z.string().default(''),
        min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        /** Certificates from an ACME CA (RFC 8555) for server.hostname and every served domain's names (src/net/acme/). */
        acme: z
          .object({
            /** The CA's directory URL; empty: no ACME (the local CA or tls.cert answers). */
            directory: z
              .string()
              .refine(
                (u) => u === '' || (/^https:\/\/[^\s]+$/i.test(u) && URL.canParse(u)),
                'expected the https:// directory URL of an ACME CA, such as https://acme-v02.api.letsencrypt.org/directory',
              )
              .default(''),
            /** Contact address given to the CA for its account (RFC 8555 §7.3); empty: none. */
            email: z
              .string()
              .refine(
                (e) => e === '' || /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(e),
                'expected an email address such as postmaster@example.com',
              )
              .default(''),
            /** `http-01` (RFC 8555 §8.3: port 80) or `tls-alpn-01` (RFC 8737: port 443). */
            challenge: z.enum(['http-01', 'tls-alpn-01']).default('http-01'),
            /** The plain-HTTP listener that answers http-01 challenges (the CA asks port 80). */
            http_bind: bind,
            http_port: port(80),
            /** Extra PEM CA certificates trusted for the directory's HTTPS (a private CA, Pebble). */
            ca_file: z.string().default(''),
            /** Renew when less than this is left (or a third of the lifetime, if that is shorter). */
            renew_before: duration('30d'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        enabled: z.boolean().default(true),
        bind,
        port: port(8443),
        /** The URL clients use; defaults to https://HOSTNAME:PORT. Discovery, issuer and JMAP URLs derive from it: https only. */
        public_url: z
          .string()
          .refine(
            (u) => u === '' || (/^https:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(u) && URL.canParse(u)),
            'must be an https:// URL without query or fragment (discovery, sign-in and JMAP are only announced over HTTPS)',
          )
          .default(''),
        proxy_protocol: z.boolean().default(false),
        proxy_from: addressList(['127.0.0.1/32', '::1/128']),
        /** Addresses allowed to read /metrics. */
        metrics_from: addressList(['127.0.0.1/32', '::1/128']),
        /** Largest request body, in bytes. */
        body_limit: z
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024),
        /** Time allowed for a request's headers to arrive, and for a new connection's first request to begin. */
        headers_timeout: duration('30s'),
        /** Time allowed for a whole request (headers and body) to arrive. */
        request_timeout: duration('5m'),
      })
      .strict()
      .refine((http) => http.request_timeout >= http.headers_timeout, {
        message: 'http.request_timeout must not be shorter than http.headers_timeout',
        path: ['request_timeout'],
      })
      .prefault({}),
    imap: z
      .object({
        ...listenerCommon,
        port: port(1143),
        tls_port: port(1993),
        /** Longest command line without literals, in bytes (RFC 7162 §4: at least 8192; OAuth initial responses are long). */
        max_line: z.number().int().min(8192).default(65_536),
        /** Largest literal in any command but APPEND, in bytes. */
        max_literal: z.number().int().min(1024).default(65_536),
        /** Largest message APPEND accepts, in bytes (announced as APPENDLIMIT, RFC 7889). */
        append_limit: z
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024),
        /** Commands per second one connection may sustain; faster clients are slowed down. */
        commands_per_second: z.number().int().min(1).default(500),
        /**
         * Offer LITERAL+ (non-synchronizing literals of any size, RFC 7888); false offers LITERAL-
         * instead: a non-synchronizing literal over 4096 octets is refused with BAD [TOOBIG].
         */
        literal_plus: z.boolean().default(true),
        /** Largest METADATA value (RFC 5464), in octets; larger ones get NO [METADATA MAXSIZE n]. */
        metadata_max_size: z
          .number()
          .int()
          .min(1)
          .default(64 * 1024),
        /** Most METADATA entries one account keeps (server and mailboxes together): NO [METADATA TOOMANY] past it. */
        metadata_max_entries: z.number().int().min(1).default(1000),
        /** Failed LOGIN/AUTHENTICATE attempts on one connection before the server says BYE. */
        max_auth_failures: z.number().int().min(1).default(3),
      })
      .strict()
      .prefault({}),
    pop3: dualListener(1110, 1995),
    submission: z
      .object({
        ...listenerCommon,
        port: port(1587),
        tls_port: port(1465),
        /** Relaying to remote domains needs an authenticated session (RFC 6409 §4.3). */
        require_auth_for_relay: z.boolean().default(true),
        /** Envelope senders an account may use: `own` (its addresses and aliases), `domain` (any address in their domains), `any`. */
        sender_policy: z.enum(['own', 'domain', 'any']).default('own'),
        /** Messages one account may submit per hour (0: unlimited). */
        max_messages_per_hour: z.number().int().min(0).default(500),
        /** Recipients one account may address per hour, summed over its messages (0: unlimited). */
        max_recipients_per_hour: z.number().int().min(0).default(2000),
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
        /** Recipients accepted per message (RFC 5321 §4.5.3.1.8 asks for at least 100). */
        max_recipients: z.number().int().min(1).default(100),
        /** Inactivity allowed on an MX connection (RFC 5321 §4.5.3.2.7: at least 5 minutes). */
        idle_timeout: duration('5m'),
        /** RCPT TO for addresses that do not exist, per connection, before `421` (address harvesting). */
        max_unknown_recipients: z.number().int().min(1).default(20),
        /** Pause before answering a RCPT TO for an address that does not exist. */
        unknown_recipient_delay: duration('1s'),
        /** Bytes of received messages (MX and submission) loaded into memory for delivery at once; the rest wait on disk. */
        delivery_memory: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(128 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    /** Checks on inbound (MX) mail: sender authentication, rspamd, policy (docs/smtp.md). */
    inbound: z
      .object({
        /** SPF, DKIM, ARC and DMARC on every MX message, reported in Authentication-Results (RFC 8601). */
        sender_auth: z.boolean().default(true),
        /** DNS servers (`ip` or `ip:port`) for the checks; empty: the system's resolvers. */
        dns_servers: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+)(:\d{1,5})?$/, 'expected ip or ip:port')).default([]),
        /** Time one DNS query may take, retries included (then `temperror`). */
        dns_timeout: duration('5s'),
        /** How long DNS answers are reused. */
        dns_cache_ttl: duration('5m'),
        /** DNS answers kept in the cache. */
        dns_cache_entries: z.number().int().min(0).default(10_000),
        /** Bound on all sender authentication of one message; past it every result is `temperror`. */
        check_timeout: duration('20s'),
        /** Add a Received-SPF field (RFC 7208 §9.1) besides Authentication-Results. */
        received_spf: z.boolean().default(false),
        /** DMARC fail with `p=reject`: `reject` (550 5.7.1 at the end of DATA) or `quarantine` (Junk). */
        dmarc_reject: z.enum(['reject', 'quarantine']).default('reject'),
        /** SPF `fail` that DMARC did not settle: `accept`, `junk` or `reject` (550 5.7.23). */
        spf_fail: z.enum(['accept', 'junk', 'reject']).default('accept'),
        /** Domains (and subdomains) whose authenticated mail (SPF, DKIM or DMARC pass) skips the junk and reject rules. */
        allow_domains: z.array(z.string().min(1)).default([]),
        /** Domains (and subdomains) refused as envelope sender or author with 550 5.7.1. */
        deny_domains: z.array(z.string().min(1)).default([]),
        /** rspamd's normal worker (`http://127.0.0.1:11333`); empty: no spam filter. */
        rspamd_url: z.string().default(''),
        /** rspamd's controller for learning from Junk moves (`http://127.0.0.1:11334`); empty: `rspamd_url`. */
        rspamd_controller_url: z.string().default(''),
        /** The controller password (`Password` header) for learning. */
        rspamd_password: z.string().default(''),
        /** Time one rspamd call may take. */
        rspamd_timeout: duration('15s'),
        /** rspamd down or timed out: `accept` (deliver, X-Spam-Status: Unknown) or `tempfail` (451 4.7.1). */
        rspamd_down: z.enum(['accept', 'tempfail']).default('accept'),
        /** rspamd action `reject`: `reject` (550 5.7.1) or `junk`. */
        spam_reject: z.enum(['reject', 'junk']).default('reject'),
        /** DNS blocklist zones (RFC 5782) the client address is looked up in at MAIL FROM; listed: 554 5.7.1. */
        dnsbl_zones: z.array(z.string().regex(HOST_NAME, 'expected a DNS zone such as zen.spamhaus.org')).default([]),
        /** Client addresses (CIDR or exact) never looked up in the blocklists nor greylisted. */
        client_allow: addressList([]),
        /** Greylist unknown (client network, sender, recipient) triplets with 451 4.7.1 (RFC 6647). */
        greylist: z.boolean().default(false),
        /** How long a new triplet is refused before a retry is accepted. */
        greylist_delay: duration('5m'),
        /** How long a refused triplet waits for its retry before it is forgotten. */
        greylist_retry_window: duration('24h'),
        /** How long a passed triplet is accepted without delay after its last message (RFC 6647 §4.2: weeks). */
        greylist_pass_ttl: duration('35d'),
        /** Sender domains (and subdomains) never greylisted. */
        greylist_allow_domains: z.array(z.string().min(1)).default([]),
        /** Local addresses that receive DMARC aggregate reports (our `rua=mailto:`): reports are read and kept (RFC 7489 §7.2). */
        dmarc_report_addresses: z.array(z.string().includes('@', { message: 'expected an address such as dmarc@example.com' })).default([]),
        /**
         * Send DMARC aggregate reports (RFC 7489 §7.2) once a day to the `rua` of the domains whose mail
         * arrived here; destinations outside a domain must publish its `_report._dmarc` record (§7.1).
         */
        dmarc_report_sending: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Sieve filtering at delivery (RFC 5228) and its limits (docs/sieve.md). */
    sieve: z
      .object({
        /** Run each account's active Sieve script when mail is delivered to it. */
        enabled: z.boolean().default(true),
        /** Largest script, in octets (ManageSieve QUOTA/MAXSIZE, RFC 5804 §2.3). */
        max_script_size: z
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024)
          .default(64 * 1024),
        /** Scripts one account may keep (QUOTA/MAXSCRIPTS). */
        max_scripts: z.number().int().min(1).max(1000).default(16),
        /** Blocks and tests nested inside one another. */
        max_nesting: z.number().int().min(4).max(256).default(32),
        /** Explicit actions (fileinto, redirect, keep, vacation, …) one run may take. */
        max_actions: z.number().int().min(1).max(1000).default(32),
        /** Redirects one run may make (RFC 5228 §4.2 asks for a limit). */
        max_redirects: z.number().int().min(0).max(100).default(4),
        /** Work one run may do (character comparisons and commands); past it the message is kept. */
        max_cpu_steps: z.number().int().min(10_000).default(2_000_000),
        /** Bounds on vacation's `:days` (RFC 5230 §4.1) and its default. */
        vacation_min_days: z.number().int().min(1).default(1),
        vacation_max_days: z.number().int().min(1).default(30),
        vacation_default_days: z.number().int().min(1).default(7),
      })
      .strict()
      .refine((s) => s.vacation_min_days <= s.vacation_default_days && s.vacation_default_days <= s.vacation_max_days, {
        message: 'sieve.vacation_default_days must lie between sieve.vacation_min_days and sieve.vacation_max_days',
        path: ['vacation_default_days'],
      })
      .prefault({}),
    /** ManageSieve (RFC 5804): script upload and activation; STARTTLS on `port`, implicit TLS on `tls_port`. */
    managesieve: z
      .object({
        ...listenerCommon,
        port: port(4190),
        /** A second listener speaking TLS from the first byte (set `tls_enabled`). */
        tls_enabled: z.boolean().default(false),
        tls_port: port(5190),
        /** Largest literal (a script upload included), in octets. */
        max_literal: z
          .number()
          .int()
          .min(1024)
          .default(1024 * 1024),
      })
      .strict()
      .prefault({}),
    /** The outbound queue: delivery of mail for remote domains. */
    queue: z
      .object({
        /** Run the delivery worker on this node (several nodes may; they never deliver the same recipient twice). */
        enabled: z.boolean().default(true),
        /** How often the worker looks for due messages (it also starts at once when mail is queued). */
        poll_interval: duration('10s'),
        /** First retry delay after a temporary failure; doubles per attempt up to `retry_max`. */
        retry_initial: duration('1m'),
        retry_max: duration('1h'),
        /** Give up and bounce after this long in the queue (RFC 5321 §4.5.4.1 suggests 4-5 days). */
        max_age: duration('5d'),
        /** Port of remote MX hosts. */
        remote_port: port(25),
        /** Static routes `domain=host:port` used instead of MX lookups; `*=host:port` for every domain. */
        routes: z.array(z.string().regex(/^[^=\s]+=[^=\s]+$/, 'expected domain=host:port')).default([]),
        /** Send all outbound mail through this relay (`host:port`); empty: deliver to MX hosts directly. */
        smarthost: z.string().default(''),
        /** `starttls` (required), `implicit` (port 465) or `none`. */
        smarthost_tls: z.enum(['starttls', 'implicit', 'none']).default('starttls'),
        smarthost_user: z.string().default(''),
        smarthost_password: z.string().default(''),
        /** PEM CA file trusted for the smarthost's certificate, besides the system CAs. */
        smarthost_ca: z.string().default(''),
        /** Verify MX hosts' certificates; off means opportunistic STARTTLS (RFC 7435), as most MTAs do. */
        verify_mx_tls: z.boolean().default(false),
        /** Enforce remote domains' MTA-STS policies (RFC 8461): only their listed MX hosts, STARTTLS with verified certificates. */
        mta_sts: z.boolean().default(true),
        /**
         * DANE for MX deliveries (RFC 7672): TLSA records of MX hosts, trusted only when the resolver in
         * `dns_servers` (or the system's) sets the AD bit, so it must validate DNSSEC and be on a trusted
         * path (loopback). Takes precedence over MTA-STS (RFC 8461 §2).
         */
        dane: z.boolean().default(false),
        /** Count TLS sessions per policy domain and send daily TLS-RPT reports (RFC 8460) to `_smtp._tls` rua. */
        tls_rpt: z.boolean().default(false),
        /** From of the reports this server sends (DMARC, TLS-RPT); empty: postmaster@ the first served domain. */
        report_from: z.string().default(''),
        /** DNS servers (`ip` or `ip:port`) for MX and MTA-STS lookups; empty: the system's resolvers. */
        dns_servers: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+)(:\d{1,5})?$/, 'expected ip or ip:port')).default([]),
        /** PEM CA file trusted besides the system CAs for MX certificates and MTA-STS policy hosts (private CAs). */
        tls_ca: z.string().default(''),
        /** Deliveries in parallel per node. */
        concurrency: z.number().int().min(1).max(100).default(8),
        /** Connection and greeting timeout per remote host. */
        connect_timeout: duration('30s'),
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
            from: addressList([]),
            /** Shared secret the proxy sends in `X-Fingerpost-Gateway-Secret`. */
            secret: z.string().default(''),
          })
          .strict()
          .prefault({}),
        /** Abuse protection shared by every protocol. */
        limits: z
          .object({
            /** Failures from one address within `window` before it is banned. */
            ip_failures: z.number().int().min(1).default(20),
            /** Different accounts failing from one address within `window` before it is banned (password spraying). */
            spray_accounts: z.number().int().min(2).default(6),
            /** Failures on one account from one address within `window` before that address may not try that account. */
            account_failures: z.number().int().min(1).default(5),
            /**
             * Failures on one account from all addresses within `window` from which it is under attack:
             * an address that failed on it may not try it again. Clean and known addresses still may.
             */
            account_attack: z.number().int().min(2).default(10),
            /** How long an address (or a browser's device cookie) that signed in to an account stays known for it. */
            known_for: duration('30d'),
            /** Failures from one address before answers to it are delayed. */
            delay_after: z.number().int().min(0).default(3),
            /** Longest delay before a failure is answered. */
            max_delay: duration('5s'),
            window: duration('15m'),
            ban: duration('15m'),
            /** Addresses (CIDR or exact) never delayed or banned. */
            exempt: addressList([]),
          })
          .strict()
          .prefault({}),
        /** How often this node reads the events table for revocations made elsewhere. */
        events_poll: duration('1s'),
      })
      .strict()
      .superRefine((auth, ctx) => {
        if (auth.http_schemes.includes('gateway') && (auth.gateway.secret.length < 16 || auth.gateway.from.length === 0)) {
          ctx.addIssue({
            code: 'custom',
            path: ['gateway'],
            message: 'the gateway scheme needs auth.gateway.from (proxy addresses) and a secret of at least 16 characters',
          });
        }
      })
      .prefault({}),
    /** Account sources besides the SQL store: LDAP for some domains (docs/identity-providers/ldap.md). */
    directory: z
      .object({
        ldap: z.array(ldapSource).default([]),
      })
      .strict()
      .superRefine((directory, ctx) => {
        const seen = new Set<string>();
        directory.ldap.forEach((source, i) => {
          for (const d of source.domains) {
            if (seen.has(d.toLowerCase()))
              ctx.addIssue({ code: 'custom', path: ['ldap', i, 'domains'], message: `domain ${d} is given to two LDAP sources` });
            seen.add(d.toLowerCase());
          }
        });
      })
      .prefault({}),
    limits: z
      .object({
        connections_total: z.number().int().min(1).default(10_000),
        /** Per client address; IPv6 clients are counted by their /64. */
        connections_per_ip: z.number().int().min(1).default(200),
        /** Share of connections_total that connections not signed in yet may hold; the oldest give way to newcomers. */
        prelogin_share: z.number().min(0.05).max(1).default(0.5),
        /** Inactivity allowed on IMAP, POP3 and submission connections before they sign in. */
        prelogin_timeout: duration('60s'),
        /** Close idle connections after this long (IMAP needs at least 30 minutes, RFC 9051 §5.4). */
        idle_timeout: duration('30m').refine(
          (ms) => ms >= 30 * 60_000,
          'expected at least 30 minutes: IMAP may not log out an idle client sooner (RFC 9051 §5.4)',
        ),
        /** Time allowed for the TLS handshake and the PROXY header. */
        handshake_timeout: duration('20s'),
        /** On SIGTERM: how long commands and SMTP transactions in flight may take to finish before connections are cut. */
        drain_timeout: duration('30s'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** `auto`: readable lines on a terminal, JSON lines otherwise (a pipe, journald, a container log); or always `json` / `pretty`. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
        /** An event loop held this long is logged (`event_loop_stall`) with the commands that were running. */
        stall_threshold: duration('500ms'),
      })
      .strict()
      .prefault({}),
    /** The embedded OpenID provider (src/idp), issuer `PUBLIC_URL/oidc`. */
    idp: z
      .object({
        /** Serve the embedded provider on the HTTPS listener. */
        enabled: z.boolean().default(true),
        /** Lifetime of JWT access tokens (RFC 9068) and of ID tokens. */
        access_token_ttl: duration('1h'),
        id_token_ttl: duration('1h'),
        /** Lifetime of a refresh token; each use rotates it (RFC 9700 §4.14). */
        refresh_token_ttl: duration('30d'),
        /** How long a browser sign-in at the provider lasts. */
        session_ttl: duration('14d'),
        /** How long a device code (RFC 8628) may wait for the user. */
        device_code_ttl: duration('10m'),
        /** Open dynamic client registration (RFC 7591) for native public clients. */
        registration: z.boolean().default(true),
        /** Registrations one client IP may make per `registration_window`. */
        registrations_per_ip: z.number().int().min(1).default(20),
        registration_window: duration('1h'),
        /**
         * User codes one client IP may enter at the device page (RFC 8628 §5.1) per `login_window`,
         * divided by three. Password sign-ins follow `auth.limits` like every protocol.
         */
        login_attempts: z.number().int().min(1).default(10),
        login_window: duration('15m'),
      })
      .strict()
      .prefault({}),
    /** WebFinger, the account configuration document and client autoconfig (src/discovery). */
    discovery: z
      .object({
        /** Answer every local part of a served domain alike, so WebFinger cannot probe for accounts. */
        privacy: z.boolean().default(true),
        /** Domains whose account configuration document needs an authenticated request. */
        require_auth: z.array(z.string()).default([]),
        /** Requests per minute one client IP may make to the public discovery endpoints. */
        rate_limit: z.number().int().min(1).default(120),
        /** `Cache-Control: max-age` of discovery answers. */
        cache_max_age: duration('1h'),
        /** Provider names shown by clients; empty: `server.name`. */
        provider_name: z.string().max(60).default(''),
        provider_short_name: z.string().max(20).default(''),
        /** Where people create app passwords (a web page); empty: not advertised. */
        app_password_url: z.string().default(''),
        /** Help page for setting up mail clients; empty: not advertised. */
        documentation_url: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /** Calendars and free/busy (src/calendar): limits, subscriptions, federation across domains. */
    calendar: z
      .object({
        /** Serve the calendar and free/busy endpoints. */
        enabled: z.boolean().default(true),
        /** Longest free/busy range one query may ask for. */
        max_range: duration('366d'),
        /** Occurrences walked per recurring event and calendar month of a query before it is cut off. */
        max_instances: z.number().int().min(10).max(1_000_000).default(20_000),
        /** IANA zone of new calendars: floating times and all-day events are read in it. */
        default_timezone: z
          .string()
          .default('UTC')
          .refine((zone) => {
            try {
              new Intl.DateTimeFormat('en', { timeZone: zone });
              return true;
            } catch {
              return false;
            }
          }, 'expected an IANA time zone name such as Europe/Berlin'),
        /** Largest iCalendar text accepted: HTTP PUT body, import file, subscribed feed. */
        max_ics_bytes: z
          .number()
          .int()
          .min(1024)
          .default(10 * 1024 * 1024),
        /** Refresh interval of subscribed ICS feeds, unless set per calendar. */
        subscription_interval: duration('1h'),
        /** Shortest refresh interval a subscription may ask for. */
        subscription_min_interval: duration('5m'),
        /** Timeout of one outbound request (feeds, WebFinger, JWKS, remote free/busy). */
        fetch_timeout: duration('10s'),
        /** Answer signed free/busy assertions from other domains and ask other domains for their users. */
        federation: z.boolean().default(true),
        /** Lifetime of the assertions this server signs. */
        assertion_lifetime: duration('2m'),
        /** Longest lifetime (exp - iat) accepted on an incoming assertion. */
        max_assertion_lifetime: duration('10m'),
        /** How long WebFinger, issuer metadata and JWKS answers of other domains are reused. */
        discovery_cache: duration('10m'),
        /** Attendees one availability request may name. */
        max_attendees: z.number().int().min(1).max(500).default(50),
        /** Free/busy requests per minute one client IP may make (answering assertions fetches from other domains). */
        rate_limit: z.number().int().min(1).default(300),
        /** Let outbound requests reach loopback, private and link-local addresses. Off: SSRF protection. */
        allow_private_addresses: z.boolean().default(false),
        /** Fixed `host=address[:port]` mappings for outbound requests (tests, split DNS); listed hosts may be private. */
        resolve: z.array(z.string().regex(/^[^=\s]+=[^=\s]+$/, 'expected host=address or host=address:port')).default([]),
        /** PEM file of extra CAs trusted for outbound HTTPS, besides the system CAs. */
        ca_file: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /** JMAP (RFC 8620, RFC 8621) on the HTTPS listener: the limits announced in the session object. */
    jmap: z
      .object({
        /** Serve JMAP (`/.well-known/jmap`, `/jmap/…`). */
        enabled: z.boolean().default(true),
        /** Largest upload, in bytes (`maxSizeUpload`). */
        max_size_upload: z.number().int().min(1024).default(50_000_000),
        /** Uploads one account may run at once (`maxConcurrentUpload`). */
        max_concurrent_upload: z.number().int().min(1).default(4),
        /** Largest API request body, in bytes (`maxSizeRequest`); also bounds what one request's result references resolve to. */
        max_size_request: z.number().int().min(1024).default(10_000_000),
        /** Largest API response, in bytes of JSON: a method call that would pass it gets `requestTooLarge`. */
        max_size_response: z.number().int().min(1024).default(50_000_000),
        /** API requests one account may run at once (`maxConcurrentRequests`). */
        max_concurrent_requests: z.number().int().min(1).default(4),
        /** Method calls in one request (`maxCallsInRequest`). */
        max_calls_in_request: z.number().int().min(1).default(16),
        /** Ids one /get may ask for (`maxObjectsInGet`). */
        max_objects_in_get: z.number().int().min(1).default(500),
        /** Creates + updates + destroys in one /set (`maxObjectsInSet`). */
        max_objects_in_set: z.number().int().min(1).default(500),
        /** How long an upload nothing refers to is kept (RFC 8620 §6.1 asks for at least 1 hour). */
        upload_ttl: duration('24h').refine((ms) => ms >= 3_600_000, 'expected at least 1h (RFC 8620 §6.1)'),
        /** Bytes of unreferenced uploads one account may hold; the oldest go first beyond it. */
        upload_quota: z.number().int().min(1024).default(500_000_000),
        /** EventSource push connections one account may hold open. */
        max_push_connections: z.number().int().min(1).default(10),
        /** PushSubscriptions one account may register (RFC 8620 §7.2). */
        push_max_subscriptions: z.number().int().min(1).max(1000).default(32),
        /** Longest a PushSubscription lives; a later `expires` is shortened to this (RFC 8620 §7.2). */
        push_max_lifetime: duration('7d').refine((ms) => ms >= 3_600_000, 'expected at least 1h'),
        /** Wait before the first retry of a failed Web Push send; it doubles after each failure. */
        push_retry_initial: duration('10s').refine((ms) => ms >= 1000, 'expected at least 1s'),
        /** Longest wait between retries of one Web Push message. */
        push_retry_max: duration('1h').refine((ms) => ms >= 1000, 'expected at least 1s'),
        /** Tries per Web Push message before it is dropped (the client resyncs from states). */
        push_max_attempts: z.number().int().min(1).max(100).default(8),
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
