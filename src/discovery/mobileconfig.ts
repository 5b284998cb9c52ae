import { createHash, X509Certificate } from 'node:crypto';
import { type DomainServices, httpService, type TcpService } from './services.ts';
import { el } from './xml.ts';

/**
 * Apple configuration profile with one `com.apple.mail.managed` payload (IMAP + SMTP, password
 * authentication: the payload has no OAuth fields), `com.apple.caldav.account` and
 * `com.apple.carddav.account` payloads for calendars and contacts (RFC 4791, RFC 6352; their
 * principal URL) when passwords work there, and, when the server's certificates come from
 * its local CA, a `com.apple.security.root` payload with that CA so iOS and macOS trust them
 * (Apple "Configuration Profile Reference": Certificates). Served unsigned, without any password
 * in it. UUIDs are derived from the domain, address and CA so a re-download replaces the profile.
 */

export const MOBILECONFIG_TYPE = 'application/x-apple-aspen-config';

function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5-style (name-based)
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function reverseDns(domain: string): string {
  return domain.split('.').reverse().join('.');
}

const key = (k: string) => el('key', k);
const str = (v: string) => el('string', v);
const int = (v: number) => el('integer', v);
const bool = (v: boolean) => (v ? '<true/>' : '<false/>');

/** The CA payload: the certificate in DER, named after its subject. */
function caPayload(id: string, caPem: string): string[] {
  const ca = new X509Certificate(caPem);
  const cn = /CN=([^\n,]+)/.exec(ca.subject)?.[1] ?? 'Fingerpost local CA';
  return [
    key('PayloadType'),
    str('com.apple.security.root'),
    key('PayloadVersion'),
    int(1),
    key('PayloadIdentifier'),
    str(`${id}.ca`),
    key('PayloadUUID'),
    str(stableUuid(`ca:${ca.fingerprint256}`)),
    key('PayloadDisplayName'),
    str(cn),
    key('PayloadCertificateFileName'),
    str('fingerpost-ca.cer'),
    key('PayloadContent'),
    el('data', ca.raw.toString('base64')),
  ];
}

/** A CalDAV or CardDAV account payload (Apple "Configuration Profile Reference": CalDAV, CardDAV). */
function davPayload(kind: 'CalDAV' | 'CardDAV', id: string, services: DomainServices, address: string): string[] {
  const url = new URL(services.publicUrl);
  const prefix = kind;
  return [
    key('PayloadType'),
    str(`com.apple.${kind.toLowerCase()}.account`),
    key('PayloadVersion'),
    int(1),
    key('PayloadIdentifier'),
    str(`${id}.${kind.toLowerCase()}`),
    key('PayloadUUID'),
    str(stableUuid(`${kind.toLowerCase()}:${address}`)),
    key('PayloadDisplayName'),
    str(`${services.providerName} ${kind === 'CalDAV' ? 'calendars' : 'contacts'}`),
    key(`${prefix}AccountDescription`),
    str(`${services.providerName} (${address})`),
    key(`${prefix}HostName`),
    str(url.hostname),
    key(`${prefix}Port`),
    int(url.port ? Number(url.port) : 443),
    key(`${prefix}UseSSL`),
    bool(true),
    key(`${prefix}PrincipalURL`),
    str(`${services.publicUrl}/dav/principals/${encodeURIComponent(address).replace(/%40/g, '@')}/`),
    key(`${prefix}Username`),
    str(address),
  ];
}

/**
 * The profile XML, or undefined when no password-capable IMAP/POP3 and submission service exists.
 * `caPem`: the local CA (PEM) when the server uses it, added as a root certificate payload.
 */
export function mobileconfig(services: DomainServices, address: string, caPem?: string): string | undefined {
  const find = (protocols: readonly string[]) =>
    services.services.find((s): s is TcpService => 'host' in s && protocols.includes(s.protocol) && s.password && s.tls === 'implicit');
  const incoming = find(['imap', 'pop3']);
  const outgoing = find(['submission']);
  if (!incoming || !outgoing) return undefined;
  const id = `${reverseDns(services.domain)}.mail.${address.replace(/[^A-Za-z0-9.-]/g, '-')}`;
  const payload = [
    key('PayloadType'),
    str('com.apple.mail.managed'),
    key('PayloadVersion'),
    int(1),
    key('PayloadIdentifier'),
    str(`${id}.account`),
    key('PayloadUUID'),
    str(stableUuid(`mail:${address}`)),
    key('PayloadDisplayName'),
    str(services.providerName),
    key('EmailAccountType'),
    str(incoming.protocol === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP'),
    key('EmailAccountDescription'),
    str(`${services.providerName} (${address})`),
    key('EmailAddress'),
    str(address),
    key('IncomingMailServerHostName'),
    str(incoming.host),
    key('IncomingMailServerPortNumber'),
    int(incoming.port),
    key('IncomingMailServerUseSSL'),
    bool(true),
    key('IncomingMailServerAuthentication'),
    str('EmailAuthPassword'),
    key('IncomingMailServerUsername'),
    str(address),
    key('OutgoingMailServerHostName'),
    str(outgoing.host),
    key('OutgoingMailServerPortNumber'),
    int(outgoing.port),
    key('OutgoingMailServerUseSSL'),
    bool(true),
    key('OutgoingMailServerAuthentication'),
    str('EmailAuthPassword'),
    key('OutgoingMailServerUsername'),
    str(address),
    key('OutgoingPasswordSameAsIncomingPassword'),
    bool(true),
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    key('PayloadType'),
    str('Configuration'),
    key('PayloadVersion'),
    int(1),
    key('PayloadIdentifier'),
    str(id),
    key('PayloadUUID'),
    str(stableUuid(`profile:${address}`)),
    key('PayloadDisplayName'),
    str(services.providerName),
    key('PayloadDescription'),
    str(`Mail, calendar and contacts settings for ${address} (enter your password or an app password when asked)`),
    key('PayloadContent'),
    '<array>',
    '<dict>',
    ...payload,
    '</dict>',
    ...(caPem ? ['<dict>', ...caPayload(id, caPem), '</dict>'] : []),
    ...(httpService(services, 'calendar')?.password
      ? [
          '<dict>',
          ...davPayload('CalDAV', id, services, address),
          '</dict>',
          '<dict>',
          ...davPayload('CardDAV', id, services, address),
          '</dict>',
        ]
      : []),
    '</array>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
