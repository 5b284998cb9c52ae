import type { IssuerMetadata, ServiceEntry } from '../store/account.ts';

/**
 * Provider presets for mailbox providers that publish no discovery for their mail services
 * (issue 9: Google and Microsoft). Only facts the providers document: issuer or endpoints,
 * scopes, hosts. No client id is shipped or borrowed: the user registers their own OAuth client
 * with the provider and passes `--client-id` (and `--client-secret` where the provider demands one).
 */
export interface Preset {
  readonly name: 'google' | 'microsoft';
  readonly title: string;
  /** Address domains that certainly use this provider. */
  readonly domains: readonly string[];
  /** An issuer to discover (Google), or fixed metadata (Microsoft's multi-tenant issuer is a template). */
  readonly issuer: string;
  readonly metadata?: IssuerMetadata;
  readonly scopes: readonly string[];
  /** Extra authorization request parameters the provider needs for a refresh token. */
  readonly authParams: Readonly<Record<string, string>>;
  readonly services: readonly ServiceEntry[];
  readonly sasl: 'XOAUTH2';
  /** Flows the provider allows with its mail scopes. */
  readonly flows: readonly ('device' | 'loopback' | 'paste')[];
  /** Where to create the client id, shown when `--client-id` is missing. */
  readonly clientHelp: string;
  readonly needsSecret: boolean;
}

const imap = (host: string, port: number, tls: 'implicit' | 'starttls', auth: string[]): ServiceEntry => ({
  protocol: 'imap',
  host,
  port,
  tls,
  auth,
});

/** Google (Gmail, Workspace): https://developers.google.com/gmail/imap/xoauth2-protocol. */
const google: Preset = {
  name: 'google',
  title: 'Google',
  domains: ['gmail.com', 'googlemail.com'],
  issuer: 'https://accounts.google.com',
  scopes: ['https://mail.google.com/'],
  authParams: { access_type: 'offline', prompt: 'consent' },
  services: [
    imap('imap.gmail.com', 993, 'implicit', ['XOAUTH2', 'OAUTHBEARER']),
    { protocol: 'pop3', host: 'pop.gmail.com', port: 995, tls: 'implicit', auth: ['XOAUTH2', 'OAUTHBEARER'] },
    { protocol: 'submission', host: 'smtp.gmail.com', port: 465, tls: 'implicit', auth: ['XOAUTH2', 'OAUTHBEARER'] },
    { protocol: 'submission', host: 'smtp.gmail.com', port: 587, tls: 'starttls', auth: ['XOAUTH2', 'OAUTHBEARER'] },
  ],
  sasl: 'XOAUTH2',
  // Google's device flow does not allow the Gmail scope.
  flows: ['loopback', 'paste'],
  clientHelp:
    'create an OAuth client of type "Desktop app" in the Google Cloud console (APIs & Services → Credentials), enable the Gmail API, then pass --client-id ID --client-secret SECRET',
  needsSecret: true,
};

const MS = 'https://login.microsoftonline.com';

/** Microsoft 365 and Outlook.com: https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth. */
function microsoft(tenant: string): Preset {
  const base = `${MS}/${encodeURIComponent(tenant)}`;
  return {
    name: 'microsoft',
    title: 'Microsoft 365 / Outlook.com',
    domains: ['outlook.com', 'hotmail.com', 'live.com', 'msn.com'],
    issuer: `${base}/v2.0`,
    metadata: {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      code_challenge_methods_supported: ['S256'],
    },
    scopes: [
      'https://outlook.office.com/IMAP.AccessAsUser.All',
      'https://outlook.office.com/POP.AccessAsUser.All',
      'https://outlook.office.com/SMTP.Send',
      'offline_access',
    ],
    authParams: {},
    services: [
      imap('outlook.office365.com', 993, 'implicit', ['XOAUTH2']),
      { protocol: 'pop3', host: 'outlook.office365.com', port: 995, tls: 'implicit', auth: ['XOAUTH2'] },
      { protocol: 'submission', host: 'smtp.office365.com', port: 587, tls: 'starttls', auth: ['XOAUTH2'] },
    ],
    sasl: 'XOAUTH2',
    flows: ['device', 'loopback', 'paste'],
    clientHelp:
      'register an application in Microsoft Entra ID (App registrations → New registration, platform "Mobile and desktop applications" with redirect http://localhost, "Allow public client flows" on, API permissions IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send, offline_access), then pass --client-id',
    needsSecret: false,
  };
}

/** The preset named by `--provider`, or the one that certainly serves the address's domain. */
export function findPreset(name: string | undefined, domain: string, tenant?: string): Preset | undefined {
  const personal = ['outlook.com', 'hotmail.com', 'live.com', 'msn.com'].includes(domain);
  const ms = microsoft(tenant ?? (personal ? 'consumers' : 'common'));
  if (name === 'google') return google;
  if (name === 'microsoft') return ms;
  if (name !== undefined) return undefined;
  if (google.domains.includes(domain)) return google;
  if (ms.domains.includes(domain)) return ms;
  return undefined;
}

export const PRESET_NAMES = ['google', 'microsoft'] as const;
