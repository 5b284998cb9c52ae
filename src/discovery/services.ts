import type { Config } from '../config/config.ts';
import { resourceIds, SCOPES } from '../config/resources.ts';

/**
 * The one service list every discovery format is rendered from (WebFinger, the account
 * configuration document, Thunderbird autoconfig, PACC, Autodiscover, .mobileconfig, DNS advice),
 * so they can never disagree. Built from the config snapshot only.
 */

/** `implicit`: TLS from the first byte (RFC 8314 §3); `starttls`: upgrade required before AUTH. */
export type TlsMode = 'implicit' | 'starttls';

export interface TcpService {
  readonly protocol: 'imap' | 'pop3' | 'submission';
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMode;
  /** SASL mechanisms (and IMAP LOGIN / POP3 USER) accepted once TLS is up, most preferred first. */
  readonly mechanisms: readonly string[];
  readonly password: boolean;
  readonly oauth: boolean;
  /** RFC 8707 resource indicator a token for this service must be issued for. */
  readonly resource: string;
}

export interface HttpService {
  readonly protocol: 'jmap' | 'calendar';
  readonly url: string;
  /** HTTP authentication schemes accepted (RFC 9110 §11), most preferred first. */
  readonly schemes: readonly string[];
  readonly password: boolean;
  readonly oauth: boolean;
  readonly resource: string;
}

export type Service = TcpService | HttpService;

/** The OAuth issuer a domain's accounts sign in with, and what to ask it for. */
export interface OAuthInfo {
  readonly issuer: string;
  /** True for the embedded provider (`PUBLIC_URL/oidc`), false for a configured `[[auth.issuers]]`. */
  readonly embedded: boolean;
  /** Scopes that cover every listed service, plus `openid email offline_access`. */
  readonly scopes: readonly string[];
  /** Every resource indicator (RFC 8707) of the listed services. */
  readonly resources: readonly string[];
}

export interface DomainServices {
  readonly domain: string;
  readonly providerName: string;
  readonly providerShortName: string;
  /** The name on the server certificate: what a client should show before sending a password. */
  readonly certificateHost: string;
  /** Implicit TLS before STARTTLS (RFC 8314 §4.5.2), IMAP before POP3. */
  readonly services: readonly Service[];
  readonly oauth: OAuthInfo | undefined;
  /** Passwords or app passwords work on at least one service. */
  readonly password: boolean;
  /** The same credential (password, or one token asked for all `oauth.resources`) works everywhere listed. */
  readonly oneCredential: boolean;
  readonly appPasswordUrl: string | undefined;
  readonly documentationUrl: string | undefined;
  readonly publicUrl: string;
}

/** The embedded issuer identifier (issue 4 decision: `PUBLIC_URL/oidc`). */
export function embeddedIssuer(config: Pick<Config, 'publicUrl'>): string {
  return `${config.publicUrl}/oidc`;
}

/**
 * The issuer for `domain`: the first `[[auth.issuers]]` entry listing the domain, else the embedded
 * provider when trusted, else the first external issuer that serves every domain.
 */
export function issuerForDomain(config: Config, domain: string): { issuer: string; embedded: boolean } | undefined {
  if (!config.auth.oauth) return undefined;
  const listed = config.auth.issuers.find((i) => i.domains.some((d) => d.toLowerCase() === domain));
  if (listed) return { issuer: listed.issuer, embedded: false };
  const idpEnabled = (config as { idp?: { enabled?: boolean } }).idp?.enabled !== false;
  if (config.auth.embedded_issuer && idpEnabled) return { issuer: embeddedIssuer(config), embedded: true };
  const any = config.auth.issuers.find((i) => i.domains.length === 0);
  return any ? { issuer: any.issuer, embedded: false } : undefined;
}

type Section = 'imap' | 'pop3' | 'submission';

function allows(config: Config, section: Section): { password: boolean; oauth: boolean } {
  const c = config[section];
  return { password: c.auth_plain ?? config.auth.plain, oauth: c.auth_oauth ?? config.auth.oauth };
}

function saslMechanisms(section: Section, password: boolean, oauth: boolean): string[] {
  const out: string[] = [];
  if (oauth) out.push('OAUTHBEARER', 'XOAUTH2');
  if (password) {
    out.push('PLAIN', 'LOGIN');
    if (section === 'imap') out.push('IMAP-LOGIN');
    if (section === 'pop3') out.push('USER');
  }
  return out;
}

/** The service list of one served domain (the caller checks that the domain is served). */
export function domainServices(config: Config, domain: string): DomainServices {
  const resources = resourceIds(config);
  const host = config.server.hostname;
  const issuer = issuerForDomain(config, domain);
  const services: Service[] = [];
  const tcp = (section: Section, resource: string) => {
    if (!config[section].enabled) return;
    const a = allows(config, section);
    const oauth = a.oauth && issuer !== undefined;
    if (!a.password && !oauth) return;
    const mechanisms = saslMechanisms(section, a.password, oauth);
    const common = { protocol: section, host, mechanisms, password: a.password, oauth, resource } as const;
    services.push({ ...common, port: config[section].tls_port, tls: 'implicit' });
    services.push({ ...common, port: config[section].port, tls: 'starttls' });
  };
  tcp('imap', resources.imap);
  tcp('pop3', resources.pop3);
  tcp('submission', resources.smtp);
  if (config.http.enabled) {
    const oauth = config.auth.oauth && issuer !== undefined;
    const password = config.auth.plain;
    const schemes = [...(oauth ? ['Bearer'] : []), ...(password ? ['Basic'] : [])];
    if (schemes.length) {
      services.push({ protocol: 'jmap', url: resources.jmap, schemes, password, oauth, resource: resources.jmap });
      services.push({ protocol: 'calendar', url: resources.calendar, schemes, password, oauth, resource: resources.calendar });
    }
  }
  const oauthServices = services.filter((s) => s.oauth);
  const oauth: OAuthInfo | undefined =
    issuer && oauthServices.length
      ? {
          issuer: issuer.issuer,
          embedded: issuer.embedded,
          scopes: [
            SCOPES.mail,
            ...(oauthServices.some((s) => s.protocol === 'calendar') ? [SCOPES.calendars] : []),
            'openid',
            'email',
            'offline_access',
          ],
          resources: [...new Set(oauthServices.map((s) => s.resource))],
        }
      : undefined;
  const name = config.discovery.provider_name || config.server.name;
  return {
    domain,
    providerName: name.slice(0, 60),
    providerShortName: (config.discovery.provider_short_name || name).slice(0, 20),
    certificateHost: host,
    services,
    oauth,
    password: services.some((s) => s.password),
    oneCredential: services.length > 0 && (services.every((s) => s.password) || services.every((s) => s.oauth)),
    appPasswordUrl: config.discovery.app_password_url || undefined,
    documentationUrl: config.discovery.documentation_url || undefined,
    publicUrl: config.publicUrl,
  };
}

/** The first (preferred) TCP service of a protocol. */
export function preferred(services: DomainServices, protocol: TcpService['protocol']): TcpService | undefined {
  return services.services.find((s): s is TcpService => s.protocol === protocol);
}

/** The HTTP service of a protocol. */
export function httpService(services: DomainServices, protocol: HttpService['protocol']): HttpService | undefined {
  return services.services.find((s): s is HttpService => s.protocol === protocol);
}

/** The free/busy URL of an address (served by the calendar module, linked from WebFinger). */
export function freeBusyUrl(config: Pick<Config, 'publicUrl'>, address: string): string {
  return `${config.publicUrl}/freebusy/${encodeURIComponent(address).replace(/%40/g, '@')}`;
}
