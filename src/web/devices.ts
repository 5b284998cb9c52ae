import type { DomainServices, TcpService } from '../discovery/services.ts';
import { html } from './page.ts';

/** A mail, calendar or contacts client the device page explains, with what it needs. */
export interface ClientGuide {
  readonly id: string;
  readonly name: string;
  /** App-password protocols (src/directory/directory.ts APP_PASSWORD_PROTOCOLS) the client uses. */
  readonly protocols: readonly string[];
  /** The client reads the Apple configuration profile. */
  readonly profile: boolean;
  /** A phone: the page shows a QR code to open the setup there. */
  readonly phone: boolean;
  /** The first steps, in words. */
  readonly steps: readonly string[];
}

/** The clients of the device page, in the order shown. */
export const CLIENTS: readonly ClientGuide[] = [
  {
    id: 'thunderbird',
    name: 'Thunderbird',
    protocols: ['imap', 'smtp', 'caldav', 'carddav'],
    profile: false,
    phone: false,
    steps: [
      'Choose “Account Settings → Account Actions → Add Mail Account”.',
      'Enter your name, your address and the app password below; Thunderbird finds the server settings itself (autoconfig).',
      'Calendars and address books: “New Calendar → On the Network” with your address; it finds them through the same settings.',
    ],
  },
  {
    id: 'apple',
    name: 'Apple Mail, iPhone and iPad',
    protocols: ['imap', 'smtp', 'caldav', 'carddav'],
    profile: true,
    phone: true,
    steps: [
      'Download the configuration profile below (on a phone: scan the QR code, open the link in Safari).',
      'Open Settings → “Profile Downloaded” and install it; when asked for a password, enter the app password below.',
    ],
  },
  {
    id: 'android',
    name: 'Android (Thunderbird / K-9 Mail)',
    protocols: ['imap', 'smtp'],
    profile: false,
    phone: true,
    steps: [
      'Scan the QR code to open this page on the phone, then create the app password there.',
      'In Thunderbird for Android or K-9 Mail add an account with your address; use the app password as the password. If it asks, use the settings below.',
    ],
  },
  {
    id: 'davx5',
    name: 'Android calendars and contacts (DAVx⁵)',
    protocols: ['caldav', 'carddav'],
    profile: false,
    phone: true,
    steps: ['In DAVx⁵ add an account with “Login with email address”: your address and the app password below.'],
  },
  {
    id: 'outlook',
    name: 'Outlook',
    protocols: ['imap', 'smtp'],
    profile: false,
    phone: false,
    steps: [
      'Add an account with your address, choose “Advanced options → Let me set up my account manually”, then IMAP, and enter the settings below.',
    ],
  },
  {
    id: 'terminal',
    name: 'mutt, neomutt, aerc, msmtp, mbsync',
    protocols: ['imap', 'smtp'],
    profile: false,
    phone: false,
    steps: ['Use the settings below; keep the app password in your password manager or keyring rather than in the configuration file.'],
  },
  {
    id: 'gnome',
    name: 'Evolution and GNOME Online Accounts',
    protocols: ['imap', 'smtp', 'caldav', 'carddav'],
    profile: false,
    phone: false,
    steps: ['Add a “Mail account” (Evolution) or “IMAP and SMTP” plus “Calendar, Contacts and Files” (GNOME) with the settings below.'],
  },
];

/** The guide of a client id, or undefined. */
export function clientGuide(id: string): ClientGuide | undefined {
  return CLIENTS.find((c) => c.id === id);
}

const TLS_WORDS = { implicit: 'SSL/TLS', starttls: 'STARTTLS' } as const;

function tcp(services: DomainServices, protocol: TcpService['protocol']): TcpService | undefined {
  return services.services.find((s): s is TcpService => 'host' in s && s.protocol === protocol && s.password);
}

/** The exact server settings a client needs (RFC 6186 names; TLS first as RFC 8314 §4.5.2 asks). */
export function settingsHtml(services: DomainServices, address: string, guide: ClientGuide): string {
  const rows: string[] = [`<dt>User name</dt><dd><code>${html(address)}</code></dd>`];
  const line = (label: string, s: TcpService | undefined) => {
    if (s)
      rows.push(
        `<dt>${label}</dt><dd><code>${html(s.host)}</code> port <code>${s.port}</code>, ${TLS_WORDS[s.tls as keyof typeof TLS_WORDS] ?? s.tls}, normal password</dd>`,
      );
  };
  if (guide.protocols.includes('imap')) line('Incoming (IMAP)', tcp(services, 'imap'));
  if (guide.protocols.includes('smtp')) line('Outgoing (SMTP)', tcp(services, 'submission'));
  const dav = services.services.some((s) => s.protocol === 'calendar');
  if (dav && guide.protocols.includes('caldav'))
    rows.push(`<dt>Calendars (CalDAV)</dt><dd><code>${html(services.publicUrl)}/dav/</code></dd>`);
  if (dav && guide.protocols.includes('carddav'))
    rows.push(`<dt>Contacts (CardDAV)</dt><dd><code>${html(services.publicUrl)}/dav/</code></dd>`);
  if (guide.id === 'terminal') {
    const imap = tcp(services, 'imap');
    const smtp = tcp(services, 'submission');
    const snippet = [
      imap ? `set folder = "imaps://${address}@${imap.host}:${imap.port}/"` : '',
      smtp ? `set smtp_url = "smtps://${address}@${smtp.host}:${smtp.port}/"` : '',
    ]
      .filter(Boolean)
      .join('\n');
    if (snippet) rows.push(`<dt>muttrc</dt><dd><pre><code>${html(snippet)}</code></pre></dd>`);
  }
  return `<dl class="settings">\n${rows.join('\n')}\n</dl>`;
}
