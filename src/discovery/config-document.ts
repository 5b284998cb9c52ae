import type { DomainServices } from './services.ts';
import { freeBusyUrl } from './services.ts';

/**
 * The account configuration document (docs/discovery.md, linked from WebFinger with
 * `REL.mailConfig`): every service with host, port, TLS mode and accepted auth, the OAuth issuer,
 * scopes and resource indicators, and the password facts a client needs before asking for one.
 */

export const CONFIG_DOCUMENT_VERSION = 1;

export interface ConfigDocument {
  readonly version: number;
  readonly domain: string;
  /** The username to use everywhere: the full address, or `%EMAILADDRESS%` when none was given. */
  readonly username: string;
  readonly provider: { readonly name: string; readonly shortName: string; readonly documentation?: string };
  /** Show this name (from the server certificate) before sending a password. */
  readonly certificateHost: string;
  readonly services: readonly ConfigService[];
  readonly oauth?: {
    readonly issuer: string;
    readonly openidConfiguration: string;
    readonly scopes: readonly string[];
    readonly resources: readonly string[];
    /** OAuth public-client profile: no client secret; dynamic registration or a published client id. */
    readonly clientType: 'public';
  };
  readonly password: {
    readonly accepted: boolean;
    /** App passwords (per device, revocable) work wherever passwords do. */
    readonly appPasswords: boolean;
    readonly appPasswordUrl?: string;
  };
  /** One password, or one token asked for every `oauth.resources`, serves every listed service. */
  readonly oneCredential: boolean;
}

export type ConfigService =
  | {
      readonly protocol: 'imap' | 'pop3' | 'submission';
      readonly host: string;
      readonly port: number;
      readonly tls: 'implicit' | 'starttls';
      readonly auth: readonly string[];
      readonly resource: string;
    }
  | {
      readonly protocol: 'jmap' | 'calendar';
      readonly url: string;
      readonly auth: readonly string[];
      readonly resource: string;
      readonly freeBusyUrl?: string;
      /** The CalDAV/CardDAV context path (RFC 6764 §4) on the calendar entry. */
      readonly davUrl?: string;
    };

/** Renders the document for `services`, personalised with `address` when given. */
export function configDocument(services: DomainServices, address: string | undefined): ConfigDocument {
  const list: ConfigService[] = services.services.map((s) =>
    'host' in s
      ? { protocol: s.protocol, host: s.host, port: s.port, tls: s.tls, auth: s.mechanisms, resource: s.resource }
      : {
          protocol: s.protocol,
          url: s.url,
          auth: s.schemes,
          resource: s.resource,
          ...(s.protocol === 'calendar' && address ? { freeBusyUrl: freeBusyUrl(services, address) } : {}),
          ...(s.protocol === 'calendar' ? { davUrl: `${services.publicUrl}/dav/` } : {}),
        },
  );
  const o = services.oauth;
  return {
    version: CONFIG_DOCUMENT_VERSION,
    domain: services.domain,
    username: address ?? '%EMAILADDRESS%',
    provider: {
      name: services.providerName,
      shortName: services.providerShortName,
      ...(services.documentationUrl ? { documentation: services.documentationUrl } : {}),
    },
    certificateHost: services.certificateHost,
    services: list,
    ...(o
      ? {
          oauth: {
            issuer: o.issuer,
            openidConfiguration: `${o.issuer}/.well-known/openid-configuration`,
            scopes: o.scopes,
            resources: o.resources,
            clientType: 'public' as const,
          },
        }
      : {}),
    password: {
      accepted: services.password,
      appPasswords: services.password,
      ...(services.password && services.appPasswordUrl ? { appPasswordUrl: services.appPasswordUrl } : {}),
    },
    oneCredential: services.oneCredential,
  };
}
