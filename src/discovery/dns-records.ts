import type { Config } from '../config/config.ts';
import { paccBody, paccTxt } from './pacc.ts';
import { type DomainServices, domainServices, type TcpService } from './services.ts';

/**
 * Every DNS record a served domain should publish, derived from the same service list as the
 * HTTP documents: MX, RFC 6186/8314 SRV (implicit TLS preferred; `0 0 0 .` for what is not
 * offered), the autoconfig/PACC/autodiscover host names, the PACC digest, SPF, DKIM and DMARC.
 */

export type RecordType = 'MX' | 'SRV' | 'TXT' | 'CNAME';

export interface ExpectedRecord {
  /** Owner name without the trailing dot. */
  readonly name: string;
  readonly type: RecordType;
  /** Zone-file RDATA (TXT without quotes). */
  readonly value: string;
  readonly why: string;
  /** How `fingerpost doctor` compares: `exact`, or `present` (any record of the kind, e.g. SPF). */
  readonly match: 'exact' | 'present';
  /** When the target name is this server's host, a CNAME may be an A/AAAA record of the same addresses. */
  readonly cnameTarget?: string;
}

export interface DkimRecord {
  readonly dnsName: string;
  readonly dnsValue: string;
}

function httpsPort(publicUrl: string): number {
  return Number(new URL(publicUrl).port || 443);
}

const SRV: readonly { label: string; protocol: TcpService['protocol']; tls: TcpService['tls']; why: string }[] = [
  { label: '_imaps._tcp', protocol: 'imap', tls: 'implicit', why: 'IMAP over TLS (RFC 6186, RFC 8314)' },
  { label: '_imap._tcp', protocol: 'imap', tls: 'starttls', why: 'IMAP with STARTTLS (RFC 6186)' },
  { label: '_pop3s._tcp', protocol: 'pop3', tls: 'implicit', why: 'POP3 over TLS (RFC 6186, RFC 8314)' },
  { label: '_pop3._tcp', protocol: 'pop3', tls: 'starttls', why: 'POP3 with STLS (RFC 6186)' },
  { label: '_submissions._tcp', protocol: 'submission', tls: 'implicit', why: 'submission over TLS (RFC 8314 §5.1)' },
  { label: '_submission._tcp', protocol: 'submission', tls: 'starttls', why: 'submission with STARTTLS (RFC 6186)' },
];

/** The records for `domain`; `dkim` are the domain's active DKIM keys (from the mail queue's key store). */
export function expectedRecords(config: Config, domain: string, dkim: readonly DkimRecord[] = []): ExpectedRecord[] {
  const services: DomainServices = domainServices(config, domain);
  const host = config.server.hostname;
  const port = httpsPort(config.publicUrl);
  const out: ExpectedRecord[] = [];
  const add = (r: ExpectedRecord) => out.push(r);

  add({ name: domain, type: 'MX', value: `10 ${host}.`, why: 'where mail for the domain is delivered', match: 'exact' });
  for (const s of SRV) {
    const svc = services.services.find((x): x is TcpService => 'host' in x && x.protocol === s.protocol && x.tls === s.tls);
    const value = svc ? `${s.tls === 'implicit' ? 0 : 10} 1 ${svc.port} ${svc.host}.` : '0 0 0 .';
    add({ name: `${s.label}.${domain}`, type: 'SRV', value, why: svc ? s.why : `${s.why}: not offered`, match: 'exact' });
  }
  const jmap = services.services.some((x) => x.protocol === 'jmap');
  add({
    name: `_jmap._tcp.${domain}`,
    type: 'SRV',
    value: jmap ? `0 1 ${port} ${host}.` : '0 0 0 .',
    why: 'JMAP (RFC 8620 §2.2)',
    match: 'exact',
  });
  const calendar = services.services.some((x) => x.protocol === 'calendar');
  // CalDAV and CardDAV share one context path (RFC 6764 §4, §5): the WebDAV tree.
  const davPath = `${new URL(config.publicUrl).pathname.replace(/\/$/, '')}/dav/`;
  for (const [label, what] of [
    ['_caldavs', 'CalDAV'],
    ['_carddavs', 'CardDAV'],
  ] as const) {
    add({
      name: `${label}._tcp.${domain}`,
      type: 'SRV',
      value: calendar ? `0 1 ${port} ${host}.` : '0 0 0 .',
      why: `${what} over TLS (RFC 6764 §3)`,
      match: 'exact',
    });
    if (calendar)
      add({
        name: `${label}._tcp.${domain}`,
        type: 'TXT',
        value: `path=${davPath}`,
        why: `${what} context path (RFC 6764 §4)`,
        match: 'exact',
      });
  }
  for (const label of ['autoconfig', 'ua-auto-config', 'autodiscover']) {
    if (`${label}.${domain}` === host) continue;
    add({
      name: `${label}.${domain}`,
      type: 'CNAME',
      value: `${host}.`,
      why: `${label} host (must also be on the TLS certificate)`,
      match: 'exact',
      cnameTarget: host,
    });
  }
  add({
    name: `_autodiscover._tcp.${domain}`,
    type: 'SRV',
    value: `0 1 ${port} ${host}.`,
    why: 'Outlook Autodiscover (MS-OXDSCLI §3.1.5.7)',
    match: 'exact',
  });
  add({
    name: `_ua-auto-config.${domain}`,
    type: 'TXT',
    value: paccTxt(paccBody(services)),
    why: 'PACC digest of /.well-known/user-agent-configuration.json',
    match: 'exact',
  });
  add({
    name: domain,
    type: 'TXT',
    value: 'v=spf1 mx -all',
    why: 'SPF (RFC 7208): only the MX hosts send for the domain',
    match: 'present',
  });
  if (dkim.length)
    for (const k of dkim) add({ name: k.dnsName, type: 'TXT', value: k.dnsValue, why: 'DKIM public key (RFC 6376)', match: 'exact' });
  add({
    name: `_dmarc.${domain}`,
    type: 'TXT',
    value: `v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}`,
    why: 'DMARC policy (RFC 7489)',
    match: 'present',
  });
  return out;
}

/** One zone-file line; TXT values are split into 255-octet strings (RFC 1035 §3.3.14). */
export function zoneLine(r: ExpectedRecord, ttl = 3600): string {
  const value =
    r.type === 'TXT' ? (r.value.match(/.{1,255}/g) ?? ['']).map((c) => `"${c.replace(/(["\\])/g, '\\$1')}"`).join(' ') : r.value;
  return `${r.name}.\t${ttl}\tIN\t${r.type}\t${value}`;
}
