import { createHash } from 'node:crypto';
import type { DomainServices } from './services.ts';
import { httpService, preferred } from './services.ts';

/**
 * PACC (draft-ietf-mailmaint-pacc-03 as implemented by clients in 2026): the provider-wide JSON
 * at `https://ua-auto-config.DOMAIN/.well-known/user-agent-configuration.json`, protected by the
 * DNS TXT record `_ua-auto-config.DOMAIN` = `v=UAAC1; a=sha256; d=<base64 SHA-256 of the body>`.
 * The body is a pure function of the config, so `fingerpost dns` prints the digest of exactly the
 * bytes the server sends.
 */

/** Implicit-TLS ports PACC implies for `host` entries (RFC 8314); others are given as `port`. */
const DEFAULT_PORTS = { imap: 993, pop3: 995, submission: 465 } as const;

/** The exact body served for a domain (stable key order, no trailing newline). */
export function paccBody(services: DomainServices): string {
  const protocols: Record<string, Record<string, string | number>> = {};
  const jmap = httpService(services, 'jmap');
  if (jmap) protocols.jmap = { url: jmap.url };
  // CalDAV and CardDAV share the WebDAV tree (RFC 6764 §4 context path).
  if (httpService(services, 'calendar')) {
    protocols.caldav = { url: `${services.publicUrl}/dav/` };
    protocols.carddav = { url: `${services.publicUrl}/dav/` };
  }
  for (const [name, protocol] of [
    ['imap', 'imap'],
    ['pop3', 'pop3'],
    ['smtp', 'submission'],
  ] as const) {
    const s = preferred(services, protocol);
    if (s?.tls === 'implicit') {
      protocols[name] = s.port === DEFAULT_PORTS[protocol] ? { host: s.host } : { host: s.host, port: s.port };
    }
  }
  const authentication: Record<string, unknown> = {};
  if (services.oauth) authentication['oauth-public'] = { issuer: services.oauth.issuer };
  authentication.password = services.password;
  const info: Record<string, unknown> = { provider: { name: services.providerName, shortName: services.providerShortName } };
  if (services.documentationUrl) info.help = { documentation: services.documentationUrl };
  return JSON.stringify({ protocols, authentication, info });
}

/** The base64 SHA-256 of a body, as carried in the TXT record's `d=`. */
export function paccDigest(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('base64');
}

/** The TXT record value for a body. */
export function paccTxt(body: string | Uint8Array): string {
  return `v=UAAC1; a=sha256; d=${paccDigest(body)}`;
}
