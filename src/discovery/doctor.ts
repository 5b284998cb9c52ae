import type { Config } from '../config/config.ts';
import { dnsLookups } from './client/dns.ts';
import { type HttpOptions, httpsGet, jsonObject } from './client/http.ts';
import { issuerMetadata } from './client/metadata.ts';
import { paccDigestMatches, readAutoconfig } from './client/readers.ts';
import { RELS } from './client/rels.ts';
import { readJrd } from './client/webfinger.ts';
import { acctUri, webfingerUrl } from './client/acct.ts';
import { type DkimRecord, type ExpectedRecord, expectedRecords } from './dns-records.ts';
import { recordTargetWarnings, reservedSuffix } from './record-targets.ts';
import { domainServices } from './services.ts';

/**
 * `fingerpost doctor`: checks from outside that DNS holds what `fingerpost dns` prints and that
 * the HTTPS discovery endpoints answer on the names clients use, and says what to fix.
 */

export interface Finding {
  readonly level: 'ok' | 'warn' | 'fail';
  readonly check: string;
  readonly detail: string;
  readonly fix?: string;
}

export interface DoctorOptions {
  /** DNS servers (`ip[:port]`); default: the system resolver. */
  readonly resolver?: readonly string[];
  /** Extra CA certificates (PEM). */
  readonly ca?: readonly string[];
  /** Port the HTTPS names are reached on from outside (default 443). */
  readonly httpsPort?: number;
  readonly timeoutMs?: number;
}

const bare = (n: string) => n.replace(/\.$/, '').toLowerCase();

/** Runs every check for `domain`. */
export async function doctor(config: Config, domain: string, dkim: readonly DkimRecord[], options: DoctorOptions = {}): Promise<Finding[]> {
  const dns = dnsLookups(options.resolver);
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const host = config.server.hostname;
  // A domain that cannot be in public DNS (localhost, .test, …: the embedded default setup) has no
  // records to check; its HTTPS names are asked on this machine instead (RFC 6761 §6.3). A DNS
  // server named with --resolver may hold such a zone (split horizon, tests): then it is checked.
  const reserved = options.resolver?.length ? undefined : reservedSuffix(domain);
  if (reserved) {
    add({
      level: 'warn',
      check: `DNS ${domain}`,
      detail: `${domain} is not a public domain (.${reserved}): no DNS records can be published for it, so none are checked; the HTTPS checks ask this machine`,
      fix: `for a public domain: fingerpost admin domain add DOMAIN, then publish what fingerpost dns DOMAIN prints`,
    });
  } else {
    const hostAddresses = new Set(await dns.addresses(host).catch(() => []));
    for (const w of await recordTargetWarnings(host, async (name) => [...(await dns.addresses(name))].map((address) => ({ address }))))
      add({ level: 'warn', check: `records point at ${host}`, detail: w });
    for (const r of expectedRecords(config, domain, dkim)) {
      try {
        add(await checkRecord(r, dns, hostAddresses));
      } catch (err) {
        add({ level: 'fail', check: `${r.type} ${r.name}`, detail: `lookup failed: ${(err as Error).message}` });
      }
    }
  }
  if (!dkim.length)
    add({
      level: 'warn',
      check: `DKIM ${domain}`,
      detail: 'no DKIM key: outbound mail is not signed',
      fix: `fingerpost admin dkim create ${domain}`,
    });

  // HTTPS from outside: resolve each name through the same resolver, connect on the public port.
  const connectTo = new Map<string, { host: string; port: number }>();
  const port = options.httpsPort ?? (reserved ? config.http.port : 443);
  const names = [domain, `autoconfig.${domain}`, `ua-auto-config.${domain}`, new URL(config.publicUrl).hostname];
  for (const name of names) {
    const addrs = reserved ? ['127.0.0.1'] : await dns.addresses(name).catch(() => []);
    if (addrs[0])
      connectTo.set(name, {
        host: addrs[0],
        port: name === new URL(config.publicUrl).hostname ? Number(new URL(config.publicUrl).port || port) : port,
      });
  }
  const http: HttpOptions = { connectTo, ca: options.ca ?? [], timeoutMs: options.timeoutMs ?? 10_000, maxRedirects: 3 };
  const services = domainServices(config, domain);
  const fetchCheck = async (check: string, url: string, accept: string, judge: (body: Buffer) => Finding) => {
    const name = new URL(url).hostname;
    if (!connectTo.has(name)) {
      add({ level: 'fail', check, detail: `${name} has no address in DNS`, fix: `point ${name} at ${host} (CNAME or A/AAAA)` });
      return;
    }
    try {
      const res = await httpsGet(url, http, accept);
      if (res.status !== 200)
        add({
          level: 'fail',
          check,
          detail: `${url} answered HTTP ${res.status}`,
          fix: `make ${name} reach this server (reverse proxy, certificate)`,
        });
      else add(judge(res.body));
    } catch (err) {
      add({
        level: 'fail',
        check,
        detail: `${url}: ${(err as Error).message}`,
        fix: `make ${name}:${port} reach this server with a certificate for ${name}`,
      });
    }
  };

  await fetchCheck('WebFinger', webfingerUrl(domain, acctUri('postmaster', domain), [RELS.issuer]), 'application/jrd+json', (body) => {
    const doc = jsonObject(body);
    const jrd = doc && readJrd(doc);
    const issuer = jrd?.links.find((l) => l.rel === RELS.issuer)?.href;
    if (!jrd) return { level: 'fail', check: 'WebFinger', detail: 'the answer is not a JRD document' };
    if (services.oauth && issuer !== services.oauth.issuer) {
      return {
        level: 'fail',
        check: 'WebFinger',
        detail: `issuer link is ${issuer ?? 'missing'}, expected ${services.oauth.issuer}`,
        fix: 'check the reverse proxy forwards /.well-known/webfinger to this server',
      };
    }
    return { level: 'ok', check: 'WebFinger', detail: issuer ? `issuer ${issuer}` : 'answers (no OAuth issuer configured)' };
  });

  await fetchCheck('autoconfig', `https://autoconfig.${domain}/mail/config-v1.1.xml`, 'text/xml', (body) => {
    const found = readAutoconfig(body.toString('utf8'), `postmaster@${domain}`);
    if (!found?.services.length) return { level: 'fail', check: 'autoconfig', detail: 'config-v1.1.xml has no usable server' };
    return { level: 'ok', check: 'autoconfig', detail: `${found.services.length} servers` };
  });

  const txt = reserved ? [] : await dns.txt(`_ua-auto-config.${domain}`).catch(() => []);
  await fetchCheck('PACC', `https://ua-auto-config.${domain}/.well-known/user-agent-configuration.json`, 'application/json', (body) =>
    reserved
      ? jsonObject(body)
        ? { level: 'ok', check: 'PACC', detail: 'document served (no DNS digest for a domain that is not public)' }
        : { level: 'fail', check: 'PACC', detail: 'the served document is not JSON' }
      : paccDigestMatches(body, txt)
        ? { level: 'ok', check: 'PACC', detail: 'document matches the digest in DNS' }
        : {
            level: 'fail',
            check: 'PACC',
            detail: 'the served document does not match the _ua-auto-config TXT digest',
            fix: `publish the TXT record printed by: fingerpost dns ${domain}`,
          },
  );

  if (services.oauth) {
    const meta = await issuerMetadata(services.oauth.issuer, http);
    add(
      meta.ok
        ? { level: 'ok', check: 'issuer metadata', detail: meta.url }
        : {
            level: 'fail',
            check: 'issuer metadata',
            detail: meta.tried.map((t) => `${t.url}: ${t.reason}`).join('; '),
            fix: services.oauth.embedded
              ? 'enable the embedded provider ([idp] enabled) or configure an issuer for this domain'
              : 'check the issuer URL in [[auth.issuers]]',
          },
    );
  }
  return findings;
}

async function checkRecord(r: ExpectedRecord, dns: ReturnType<typeof dnsLookups>, hostAddresses: Set<string>): Promise<Finding> {
  const check = `${r.type} ${r.name}`;
  const fix = `publish: ${r.name}. ${r.type} ${r.value}`;
  switch (r.type) {
    case 'MX': {
      const mx = await dns.mx(r.name);
      const target = bare(r.value.split(' ')[1]!);
      return mx.some((m) => bare(m.exchange) === target)
        ? { level: 'ok', check, detail: `includes ${target}` }
        : { level: 'fail', check, detail: mx.length ? `MX is ${mx.map((m) => m.exchange).join(', ')}` : 'no MX record', fix };
    }
    case 'SRV': {
      const srv = await dns.srv(r.name);
      const [, , port, target] = r.value.split(' ');
      if (target === '.') {
        const live = srv.filter((s) => s.name !== '.' && s.name !== '' && s.port !== 0);
        return live.length
          ? { level: 'warn', check, detail: `advertises ${live[0]!.name}:${live[0]!.port} but the service is not offered`, fix }
          : { level: 'ok', check, detail: 'not offered, not advertised' };
      }
      return srv.some((s) => bare(s.name) === bare(target!) && s.port === Number(port))
        ? { level: 'ok', check, detail: `${bare(target!)}:${port}` }
        : { level: 'fail', check, detail: srv.length ? `points at ${srv.map((s) => `${s.name}:${s.port}`).join(', ')}` : 'missing', fix };
    }
    case 'CNAME': {
      const cname = await dns.cname(r.name);
      if (cname.some((c) => bare(c) === bare(r.value))) return { level: 'ok', check, detail: `→ ${bare(r.value)}` };
      const addrs = await dns.addresses(r.name);
      if (addrs.length && addrs.some((a) => hostAddresses.has(a)))
        return { level: 'ok', check, detail: `same address as ${r.cnameTarget}` };
      return { level: 'fail', check, detail: addrs.length ? `resolves to ${addrs.join(', ')}, not to ${r.cnameTarget}` : 'missing', fix };
    }
    case 'TXT': {
      const txt = await dns.txt(r.name);
      if (r.match === 'present') {
        const prefix = r.value.split(';')[0]!.split(' ')[0]!;
        const found = txt.filter((t) => t.startsWith(prefix));
        return found.length === 1
          ? { level: 'ok', check, detail: found[0]! }
          : found.length > 1
            ? { level: 'fail', check, detail: `${found.length} ${prefix} records (there must be one)`, fix: 'keep a single record' }
            : { level: 'fail', check, detail: 'missing', fix };
      }
      return txt.includes(r.value)
        ? { level: 'ok', check, detail: 'matches' }
        : { level: 'fail', check, detail: txt.length ? 'differs from the expected value' : 'missing', fix };
    }
  }
}
