import { createHash, timingSafeEqual } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

/**
 * Readers that turn each discovery format into one neutral service list. Lenient where the
 * formats say unknown things are ignored; anything unusable is dropped, never guessed.
 */

export type ServiceProtocol = 'imap' | 'pop3' | 'submission' | 'jmap' | 'calendar';

export interface FoundService {
  readonly protocol: ServiceProtocol;
  readonly host?: string;
  readonly port?: number;
  readonly tls?: 'implicit' | 'starttls';
  readonly url?: string;
  /** Mechanisms / schemes / autoconfig values, as the source named them. */
  readonly auth: readonly string[];
  readonly oauth: boolean;
  readonly password: boolean;
  /** RFC 8707 resource indicator, when the source gives one. */
  readonly resource?: string;
}

export interface FoundConfig {
  readonly services: readonly FoundService[];
  readonly issuer?: string;
  readonly scopes?: readonly string[];
  readonly resources?: readonly string[];
  readonly password?: boolean;
  readonly certificateHost?: string;
  readonly appPasswordUrl?: string;
  readonly freeBusyUrl?: string;
  readonly oneCredential?: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const PROTOCOLS = new Set<ServiceProtocol>(['imap', 'pop3', 'submission', 'jmap', 'calendar']);
const OAUTH = /^(OAUTHBEARER|XOAUTH2|OAuth2|Bearer)$/i;
const PASSWORD = /^(PLAIN|LOGIN|IMAP-LOGIN|USER|password-cleartext|Basic|plain)$/i;

function flags(auth: readonly string[]): { oauth: boolean; password: boolean } {
  return { oauth: auth.some((a) => OAUTH.test(a)), password: auth.some((a) => PASSWORD.test(a)) };
}

/** The account configuration document (docs/discovery.md, version 1). */
export function readConfigDocument(doc: Record<string, unknown>): FoundConfig | undefined {
  if (typeof doc.version !== 'number' || !Array.isArray(doc.services)) return undefined;
  const services: FoundService[] = [];
  let freeBusyUrl: string | undefined;
  for (const raw of doc.services as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    const s = raw as Record<string, unknown>;
    const protocol = s.protocol as ServiceProtocol;
    if (!PROTOCOLS.has(protocol)) continue;
    const auth = strs(s.auth);
    const resource = str(s.resource);
    if (typeof s.host === 'string' && typeof s.port === 'number' && (s.tls === 'implicit' || s.tls === 'starttls')) {
      services.push({ protocol, host: s.host, port: s.port, tls: s.tls, auth, ...flags(auth), ...(resource ? { resource } : {}) });
    } else if (str(s.url)?.startsWith('https://')) {
      services.push({ protocol, url: s.url as string, auth, ...flags(auth), ...(resource ? { resource } : {}) });
      freeBusyUrl ??= str(s.freeBusyUrl);
    }
  }
  const oauth = (doc.oauth ?? {}) as Record<string, unknown>;
  const password = (doc.password ?? {}) as Record<string, unknown>;
  return {
    services,
    ...(str(oauth.issuer) ? { issuer: oauth.issuer as string, scopes: strs(oauth.scopes), resources: strs(oauth.resources) } : {}),
    ...(typeof password.accepted === 'boolean' ? { password: password.accepted } : {}),
    ...(str(password.appPasswordUrl) ? { appPasswordUrl: password.appPasswordUrl as string } : {}),
    ...(str(doc.certificateHost) ? { certificateHost: doc.certificateHost as string } : {}),
    ...(typeof doc.oneCredential === 'boolean' ? { oneCredential: doc.oneCredential } : {}),
    ...(freeBusyUrl ? { freeBusyUrl } : {}),
  };
}

/** Constant-time check of a PACC body against the TXT records of `_ua-auto-config.DOMAIN`. */
export function paccDigestMatches(body: Buffer, txtRecords: readonly string[]): boolean {
  const digest = createHash('sha256').update(body).digest();
  let match = false;
  for (const record of txtRecords) {
    const fields = new Map(
      record.split(';').map((f) => {
        const eq = f.indexOf('=');
        return [f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1).trim()] as const;
      }),
    );
    if (fields.get('v') !== 'UAAC1' || fields.get('a') !== 'sha256') continue;
    const d = Buffer.from(fields.get('d') ?? '', 'base64');
    if (d.length === digest.length && timingSafeEqual(d, digest)) match = true;
  }
  return match;
}

const DEFAULT_PORTS = { imap: 993, pop3: 995, smtp: 465 } as const;

/** PACC JSON (draft -03 shape): TCP `host` entries imply implicit TLS on the standard port. */
export function readPacc(doc: Record<string, unknown>): FoundConfig | undefined {
  const protocols = doc.protocols as Record<string, Record<string, unknown>> | undefined;
  if (!protocols || typeof protocols !== 'object') return undefined;
  const authn = (doc.authentication ?? {}) as Record<string, unknown>;
  const issuer = str((authn['oauth-public'] as Record<string, unknown> | undefined)?.issuer);
  const password = authn.password === true;
  const auth = [...(issuer ? ['OAuth2'] : []), ...(password ? ['password-cleartext'] : [])];
  const services: FoundService[] = [];
  for (const [name, protocol] of [
    ['imap', 'imap'],
    ['pop3', 'pop3'],
    ['smtp', 'submission'],
  ] as const) {
    const p = protocols[name];
    if (!p || !str(p.host)) continue;
    const port = typeof p.port === 'number' ? p.port : DEFAULT_PORTS[name];
    services.push({ protocol, host: p.host as string, port, tls: 'implicit', auth, oauth: !!issuer, password });
  }
  const jmap = str(protocols.jmap?.url);
  if (jmap?.startsWith('https://')) services.push({ protocol: 'jmap', url: jmap, auth, oauth: !!issuer, password });
  return { services, ...(issuer ? { issuer } : {}), password };
}

/** Thunderbird config-v1.1.xml; placeholders are substituted for `address`. */
export function readAutoconfig(xml: string, address: string): FoundConfig | undefined {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return undefined;
  // biome-ignore lint/suspicious/noExplicitAny: fast-xml-parser returns untyped nodes, checked field by field below
  let doc: Record<string, any>;
  try {
    doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      processEntities: true,
      isArray: (name) => ['incomingServer', 'outgoingServer', 'authentication', 'domain'].includes(name),
    }).parse(xml, true);
  } catch {
    return undefined;
  }
  const provider = doc.clientConfig?.emailProvider;
  if (!provider) return undefined;
  const at = address.lastIndexOf('@');
  const fill = (v: unknown) =>
    String(v ?? '')
      .replace(/%EMAILADDRESS%/g, address)
      .replace(/%EMAILLOCALPART%/g, address.slice(0, at))
      .replace(/%EMAILDOMAIN%/g, address.slice(at + 1));
  const text = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>)['#text'] : v);
  const services: FoundService[] = [];
  const servers = [...(provider.incomingServer ?? []), ...(provider.outgoingServer ?? [])] as Record<string, unknown>[];
  for (const s of servers) {
    const type = String(s['@type'] ?? '');
    const protocol: ServiceProtocol | undefined =
      type === 'smtp' ? 'submission' : type === 'imap' || type === 'pop3' || type === 'jmap' ? type : undefined;
    if (!protocol) continue;
    const auth = ((s.authentication as unknown[]) ?? []).map((a) => String(text(a)));
    if (protocol === 'jmap') {
      const url = fill(s.url);
      if (url.startsWith('https://')) services.push({ protocol, url, auth, ...flags(auth) });
      continue;
    }
    const socket = String(s.socketType ?? '');
    const tls = socket === 'SSL' ? 'implicit' : socket === 'STARTTLS' ? 'starttls' : undefined;
    const port = Number(s.port);
    if (!tls || !Number.isInteger(port) || port < 1 || port > 65535) continue; // plain-text servers are not used
    services.push({ protocol, host: fill(s.hostname), port, tls, auth, ...flags(auth) });
  }
  const issuer = autoconfigIssuer(doc.clientConfig?.oAuth2);
  const scope = str(doc.clientConfig?.oAuth2?.scope);
  return { services, ...(issuer ? { issuer } : {}), ...(scope ? { scopes: scope.split(/\s+/) } : {}) };
}

/**
 * The issuer URL from an `<oAuth2>` element. ISPDB files name the authorization server's host
 * (`<issuer>accounts.google.com</issuer>`) and its endpoints; an https URL there is taken as is
 * (older Fingerpost servers); else the issuer is taken to be `<authURL>` without its last path
 * segment, on the same host. Only a guess: the issuer's metadata must name exactly this issuer
 * (RFC 8414 §3.3) before it is used.
 */
function autoconfigIssuer(oauth2: unknown): string | undefined {
  const o = (oauth2 ?? {}) as Record<string, unknown>;
  const issuer = str(o.issuer);
  if (issuer?.startsWith('https://')) return issuer;
  const auth = str(o.authURL);
  if (!issuer || !auth?.startsWith('https://')) return undefined;
  try {
    const u = new URL(auth);
    if (u.hostname !== issuer.toLowerCase()) return undefined;
    const path = u.pathname.replace(/\/[^/]*$/, '');
    return `${u.origin}${path}`;
  } catch {
    return undefined;
  }
}

/** RFC 6186 / RFC 8314 SRV labels and what they mean. */
export const SRV_LABELS = [
  { label: '_imaps._tcp', protocol: 'imap', tls: 'implicit' },
  { label: '_imap._tcp', protocol: 'imap', tls: 'starttls' },
  { label: '_pop3s._tcp', protocol: 'pop3', tls: 'implicit' },
  { label: '_pop3._tcp', protocol: 'pop3', tls: 'starttls' },
  { label: '_submissions._tcp', protocol: 'submission', tls: 'implicit' },
  { label: '_submission._tcp', protocol: 'submission', tls: 'starttls' },
  { label: '_jmap._tcp', protocol: 'jmap', tls: 'implicit' },
] as const;
