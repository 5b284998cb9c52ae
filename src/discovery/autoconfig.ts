import type { DomainServices, HttpService, TcpService } from './services.ts';
import { el, xmlEscape } from './xml.ts';

/**
 * Thunderbird autoconfig `config-v1.1.xml` (draft-ietf-mailmaint-autoconfig-06, format 1.2 which
 * 1.1 clients read: unknown elements are ignored). Placeholders stay in the file when no address
 * was given; the client substitutes them.
 */

function authValues(s: TcpService | HttpService, oauth: boolean): string[] {
  const out: string[] = [];
  if (s.oauth && oauth) out.push(el('authentication', 'OAuth2'));
  if (s.password) out.push('host' in s ? el('authentication', 'password-cleartext') : el('authentication', 'Basic', { system: 'http' }));
  return out;
}

function tcpServer(s: TcpService, username: string, oauth: boolean): string {
  const tag = s.protocol === 'submission' ? 'outgoingServer' : 'incomingServer';
  const type = s.protocol === 'submission' ? 'smtp' : s.protocol;
  return [
    `    <${tag} type="${type}">`,
    `      ${el('hostname', s.host)}`,
    `      ${el('port', s.port)}`,
    `      ${el('socketType', s.tls === 'implicit' ? 'SSL' : 'STARTTLS')}`,
    ...authValues(s, oauth).map((a) => `      ${a}`),
    `      ${el('username', username)}`,
    `    </${tag}>`,
  ].join('\n');
}

/**
 * `<oAuth2>` as the ISPDB files Thunderbird ships carry it (a child of `<clientConfig>` after
 * `<emailProvider>`): `<issuer>` is the host name of the authorization server, the key
 * Thunderbird's OAuth2Providers and an add-on's `oauth_provider` use, not the RFC 8414 issuer URL;
 * `<scope>`; `<authURL>` and `<tokenURL>` for the embedded provider, whose endpoints are known
 * here (oidc-provider's `/auth` and `/token` under the issuer). Thunderbird itself does not read
 * the element: `<authentication>OAuth2</authentication>` works for a host it has a provider for
 * (docs/clients/thunderbird.md); other clients and Fingerpost's own reader take the endpoints.
 */
function oauth2Element(oauth: NonNullable<DomainServices['oauth']>): string[] {
  const issuer = new URL(oauth.issuer);
  return [
    '  <oAuth2>',
    `    ${el('issuer', issuer.hostname)}`,
    `    ${el('scope', oauth.scopes.join(' '))}`,
    ...(oauth.embedded ? [`    ${el('authURL', `${oauth.issuer}/auth`)}`, `    ${el('tokenURL', `${oauth.issuer}/token`)}`] : []),
    '  </oAuth2>',
  ];
}

/** The XML for a domain; `address` fills `<username>` (else `%EMAILADDRESS%`). */
export function autoconfigXml(services: DomainServices, address: string | undefined): string {
  const username = address ?? '%EMAILADDRESS%';
  const oauth = services.oauth !== undefined;
  const tcp = services.services.filter((s): s is TcpService => 'host' in s);
  const incoming = tcp.filter((s) => s.protocol !== 'submission');
  const outgoing = tcp.filter((s) => s.protocol === 'submission');
  const jmap = services.services.find((s): s is HttpService => s.protocol === 'jmap');
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.2">',
    `  <emailProvider id="${xmlEscape(services.domain)}">`,
    `    ${el('domain', services.domain)}`,
    `    ${el('displayName', services.providerName)}`,
    `    ${el('displayShortName', services.providerShortName)}`,
    ...incoming.map((s) => tcpServer(s, username, oauth)),
    ...(jmap
      ? [
          '    <incomingServer type="jmap">',
          `      ${el('url', `${services.publicUrl}/.well-known/jmap`)}`,
          ...authValues(jmap, oauth).map((a) => `      ${a}`),
          `      ${el('username', username)}`,
          '    </incomingServer>',
        ]
      : []),
    ...outgoing.map((s) => tcpServer(s, username, oauth)),
    ...(services.documentationUrl ? [`    <documentation url="${xmlEscape(services.documentationUrl)}"/>`] : []),
    '  </emailProvider>',
  ];
  // CalDAV and CardDAV on the same WebDAV tree (Thunderbird's addressBook and calendar elements).
  const calendar = services.services.find((s): s is HttpService => s.protocol === 'calendar');
  if (calendar)
    for (const [tag, type] of [
      ['addressBook', 'carddav'],
      ['calendar', 'caldav'],
    ] as const)
      lines.push(
        `  <${tag} type="${type}">`,
        `    ${el('username', username)}`,
        `    ${el('authentication', calendar.password ? 'http-basic' : 'OAuth2')}`,
        `    ${el('serverURL', `${services.publicUrl}/dav/`)}`,
        `  </${tag}>`,
      );
  if (services.oauth) lines.push(...oauth2Element(services.oauth));
  lines.push('</clientConfig>', '');
  return lines.join('\n');
}
