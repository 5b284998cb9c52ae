import { createHash, randomBytes } from 'node:crypto';
import https from 'node:https';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../../core/log.ts';
import { dayOf, type DmarcResultRow, type ReportKind, type ReportStore, type TlsRptRow } from './report-store.ts';

/** Looks up one name and type (src/mail/inbound/dns-cache.ts CachingResolver#resolve). */
export type Resolve = (name: string, rrtype: string) => Promise<unknown[]>;

export interface DailyReportsOptions {
  readonly store: ReportStore;
  /** Our name: the reporting organisation and the Submitter. */
  readonly orgName: string;
  /** The From of report messages (a served domain's address, so it is DKIM-signed). */
  readonly from: string;
  readonly resolve: Resolve;
  /** Queues a message (src/protocols/smtp/service.ts enqueue: DKIM-signed, then the queue). */
  readonly enqueue: (input: { sender: string; recipients: string[]; message: Buffer }) => Promise<unknown>;
  /** Which reports to send. */
  readonly dmarc: boolean;
  readonly tlsRpt: boolean;
  /** Extra CAs for https: report endpoints (tests, private CAs). */
  readonly ca?: string[];
  readonly timeoutMs: number;
  readonly logger: Logger;
}

const xml = (s: string | number) =>
  String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
const seconds = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000);

/** A report destination: `mailto:` or `https:` with an optional `!size` limit (RFC 7489 §6.2, RFC 8460 §3). */
export interface Destination {
  readonly uri: string;
  readonly maxBytes?: number;
}

/** Parses `uri!10m` (k, m, g, t units, RFC 7489 §6.2). */
export function parseDestination(value: string): Destination | undefined {
  const m = /^(.+?)(?:!(\d{1,12})([kmgt]?))?$/i.exec(value.trim());
  if (!m) return undefined;
  const uri = decodeURIComponent(m[1]!);
  if (!/^mailto:[^@\s]+@[^@\s?]+$/i.test(uri) && !/^https:\/\/\S+$/i.test(uri)) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[3] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return { uri, ...(m[2] ? { maxBytes: Number(m[2]) * unit } : {}) };
}

/** The aggregate report XML (RFC 7489 appendix C) for one policy domain and UTC day. */
export function dmarcReportXml(o: {
  orgName: string;
  email: string;
  reportId: string;
  domain: string;
  day: string;
  rows: readonly DmarcResultRow[];
}): string {
  const begin = seconds(o.day);
  const p = o.rows[0]!.published;
  const records = o.rows.map((r) => {
    const dkim = r.authResults.dkim.map((d) => `<dkim><domain>${xml(d.domain)}</domain><result>${xml(d.result)}</result></dkim>`).join('');
    const spfList = r.authResults.spf.length ? r.authResults.spf : [{ domain: r.headerFrom, result: 'none' }];
    const spf = spfList
      .map((s) => `<spf><domain>${xml(s.domain)}</domain><scope>mfrom</scope><result>${xml(s.result)}</result></spf>`)
      .join('');
    return (
      `<record><row><source_ip>${xml(r.sourceIp)}</source_ip><count>${r.messages}</count>` +
      `<policy_evaluated><disposition>${r.disposition}</disposition><dkim>${r.dkim}</dkim><spf>${r.spf}</spf></policy_evaluated></row>` +
      `<identifiers><header_from>${xml(r.headerFrom)}</header_from></identifiers>` +
      `<auth_results>${dkim}${spf}</auth_results></record>`
    );
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<feedback><version>1.0</version>` +
    `<report_metadata><org_name>${xml(o.orgName)}</org_name><email>${xml(o.email)}</email>` +
    `<report_id>${xml(o.reportId)}</report_id><date_range><begin>${begin}</begin><end>${begin + 86_399}</end></date_range></report_metadata>` +
    `<policy_published><domain>${xml(o.domain)}</domain><adkim>${p.adkim}</adkim><aspf>${p.aspf}</aspf>` +
    `<p>${xml(p.p)}</p><sp>${xml(p.sp)}</sp><pct>${p.pct}</pct></policy_published>` +
    `${records.join('')}</feedback>\n`
  );
}

/** The TLS-RPT report (RFC 8460 §4.4) for one policy domain and UTC day. */
export function tlsReportJson(o: {
  orgName: string;
  contact: string;
  reportId: string;
  domain: string;
  day: string;
  rows: readonly TlsRptRow[];
}): object {
  const byPolicy = new Map<string, TlsRptRow[]>();
  for (const r of o.rows) {
    const key = JSON.stringify(r.policy);
    byPolicy.set(key, [...(byPolicy.get(key) ?? []), r]);
  }
  return {
    'organization-name': o.orgName,
    'date-range': { 'start-datetime': `${o.day}T00:00:00Z`, 'end-datetime': `${o.day}T23:59:59Z` },
    'contact-info': o.contact,
    'report-id': o.reportId,
    policies: [...byPolicy.values()].map((rows) => {
      const policy = rows[0]!.policy;
      const failures = rows.filter((r) => r.result);
      return {
        policy: {
          'policy-type': policy.type,
          'policy-string': policy.strings,
          'policy-domain': o.domain,
          ...(policy.mxHost?.length ? { 'mx-host': policy.mxHost } : {}),
        },
        summary: {
          'total-successful-session-count': rows.filter((r) => !r.result).reduce((n, r) => n + r.sessions, 0),
          'total-failure-session-count': failures.reduce((n, r) => n + r.sessions, 0),
        },
        ...(failures.length
          ? {
              'failure-details': failures.map((r) => ({
                'result-type': r.result,
                ...(r.receivingMx ? { 'receiving-mx-hostname': r.receivingMx } : {}),
                'failed-session-count': r.sessions,
              })),
            }
          : {}),
      };
    }),
  };
}

/** What one daily report would be: for `admin dmarc pending` and the sender. */
export interface PlannedReport {
  readonly kind: ReportKind;
  readonly domain: string;
  readonly day: string;
  readonly reportId: string;
  readonly destinations: readonly Destination[];
  /** Destinations refused, with why (RFC 7489 §7.1 verification, bad URIs). */
  readonly refused: ReadonlyArray<{ readonly uri: string; readonly why: string }>;
  readonly body: Buffer;
  readonly filename: string;
}

const mailDomain = (uri: string) => uri.slice(uri.lastIndexOf('@') + 1).toLowerCase();
const related = (a: string, b: string) => a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);

/**
 * Daily aggregate reports this server sends: DMARC (RFC 7489 §7.2) to each policy domain's `rua`,
 * with destinations outside the domain verified through `<domain>._report._dmarc.<dest>`
 * (§7.1); TLS-RPT (RFC 8460) to the `rua` of `_smtp._tls.<domain>`, by mail through the queue
 * (§5.3) or HTTPS POST (§5.2). Each (kind, domain, day) is handled once, on whichever node runs it.
 */
export class DailyReports {
  readonly #o: DailyReportsOptions;

  constructor(options: DailyReportsOptions) {
    this.#o = options;
  }

  /** Builds every report due before `now`'s day, without sending it. */
  async plan(now: number, kinds: readonly ReportKind[] = ['dmarc', 'tlsrpt']): Promise<PlannedReport[]> {
    const out: PlannedReport[] = [];
    for (const kind of kinds)
      for (const { domain, day } of await this.#o.store.pending(kind, dayOf(now)))
        out.push(kind === 'dmarc' ? await this.#planDmarc(domain, day) : await this.#planTls(domain, day));
    return out;
  }

  /** Sends every report due before `now`'s day; returns what was handled. */
  async sendDue(now: number): Promise<PlannedReport[]> {
    const kinds: ReportKind[] = [...(this.#o.dmarc ? (['dmarc'] as const) : []), ...(this.#o.tlsRpt ? (['tlsrpt'] as const) : [])];
    const planned = await this.plan(now, kinds);
    for (const r of planned) {
      const results: string[] = r.refused.map((x) => `${x.uri}: ${x.why}`);
      for (const d of r.destinations) {
        if (d.maxBytes !== undefined && r.body.length > d.maxBytes) {
          results.push(`${d.uri}: larger than its limit`);
          continue;
        }
        try {
          if (d.uri.toLowerCase().startsWith('mailto:')) await this.#mail(r, d.uri.slice(7));
          else await this.#post(r, d.uri);
          results.push(`${d.uri}: sent`);
        } catch (err) {
          results.push(`${d.uri}: ${(err as Error).message}`);
        }
      }
      await this.#o.store.markSent(r.kind, r.domain, r.day, now, results.join('; ') || 'no destination');
      this.#o.logger.info({ kind: r.kind, domain: r.domain, day: r.day, outcome: results.join('; ') }, 'daily report');
    }
    return planned;
  }

  #reportId(kind: ReportKind, domain: string, day: string): string {
    return `${day}.${createHash('sha256').update(`${kind} ${domain} ${this.#o.orgName}`).digest('hex').slice(0, 16)}@${this.#o.orgName}`;
  }

  async #txt(name: string): Promise<string[]> {
    const answer = await this.#o.resolve(name, 'TXT').catch(() => []);
    return answer.map((a) => (Array.isArray(a) ? a.join('') : String(a)));
  }

  async #planDmarc(domain: string, day: string): Promise<PlannedReport> {
    const rows = await this.#o.store.dmarcRows(domain, day);
    const reportId = this.#reportId('dmarc', domain, day);
    const body = gzipSync(dmarcReportXml({ orgName: this.#o.orgName, email: this.#o.from, reportId, domain, day, rows }));
    const destinations: Destination[] = [];
    const refused: Array<{ uri: string; why: string }> = [];
    for (const value of new Set(rows.flatMap((r) => r.rua))) {
      const d = parseDestination(value);
      if (!d?.uri.toLowerCase().startsWith('mailto:')) {
        refused.push({ uri: value, why: 'not a mailto: URI' });
        continue;
      }
      const target = mailDomain(d.uri);
      // RFC 7489 §7.1: a destination outside the policy domain must agree to receive its reports.
      if (!related(target, domain)) {
        const agreed = (await this.#txt(`${domain}._report._dmarc.${target}`)).some((t) => /^v=DMARC1(;|\s|$)/i.test(t.trim()));
        if (!agreed) {
          refused.push({ uri: d.uri, why: `${target} does not publish ${domain}._report._dmarc.${target}` });
          continue;
        }
      }
      destinations.push(d);
    }
    const begin = seconds(day);
    return {
      kind: 'dmarc',
      domain,
      day,
      reportId,
      destinations,
      refused,
      body,
      filename: `${this.#o.orgName}!${domain}!${begin}!${begin + 86_399}.xml.gz`,
    };
  }

  async #planTls(domain: string, day: string): Promise<PlannedReport> {
    const rows = await this.#o.store.tlsRows(domain, day);
    const reportId = this.#reportId('tlsrpt', domain, day);
    const json = tlsReportJson({ orgName: this.#o.orgName, contact: this.#o.from, reportId, domain, day, rows });
    const body = gzipSync(JSON.stringify(json));
    const record = (await this.#txt(`_smtp._tls.${domain}`)).filter((t) => /^v=TLSRPTv1\s*(;|$)/.test(t.trim()));
    const destinations: Destination[] = [];
    const refused: Array<{ uri: string; why: string }> = [];
    // RFC 8460 §3: exactly one record; otherwise no report.
    if (record.length === 1) {
      const rua = /(?:^|;)\s*rua=([^;]*)/.exec(record[0]!)?.[1] ?? '';
      for (const value of rua
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean)
        .slice(0, 10)) {
        const d = parseDestination(value);
        if (d) destinations.push(d);
        else refused.push({ uri: value, why: 'not a mailto: or https: URI' });
      }
    }
    const begin = seconds(day);
    return {
      kind: 'tlsrpt',
      domain,
      day,
      reportId,
      destinations,
      refused,
      body,
      filename: `${this.#o.orgName}!${domain}!${begin}!${begin + 86_399}!${reportId.slice(11, 27)}.json.gz`,
    };
  }

  /** The report message: RFC 7489 §7.2.1.1 (DMARC) or RFC 8460 §5.3 (multipart/report, tlsrpt). */
  async #mail(r: PlannedReport, to: string): Promise<void> {
    const boundary = `=_${randomBytes(12).toString('hex')}`;
    const tls = r.kind === 'tlsrpt';
    const subject = `Report Domain: ${r.domain} Submitter: ${this.#o.orgName} Report-ID: <${r.reportId}>`;
    const head = [
      `From: ${this.#o.from}`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${randomBytes(12).toString('hex')}.${r.reportId}>`,
      'MIME-Version: 1.0',
      ...(tls ? [`TLS-Report-Domain: ${r.domain}`, `TLS-Report-Submitter: ${this.#o.orgName}`] : []),
      tls
        ? `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`
        : `Content-Type: multipart/mixed; boundary="${boundary}"`,
    ];
    const text = tls
      ? `This is an aggregate TLS report from ${this.#o.orgName} for ${r.domain}, ${r.day}.`
      : `This is a DMARC aggregate report from ${this.#o.orgName} for ${r.domain}, ${r.day}.`;
    const type = tls ? 'application/tlsrpt+gzip' : 'application/gzip';
    const b64 = r.body.toString('base64').replace(/.{76}/g, '$&\r\n');
    const message =
      `${head.join('\r\n')}\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${text}\r\n` +
      `--${boundary}\r\nContent-Type: ${type}; name="${r.filename}"\r\nContent-Disposition: attachment; filename="${r.filename}"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--${boundary}--\r\n`;
    await this.#o.enqueue({ sender: this.#o.from, recipients: [to], message: Buffer.from(message) });
  }

  /** RFC 8460 §5.2: POST the gzipped report; any 2xx is success. */
  #post(r: PlannedReport, uri: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        uri,
        {
          method: 'POST',
          headers: { 'content-type': 'application/tlsrpt+gzip', 'content-length': r.body.length },
          ...(this.#o.ca ? { ca: this.#o.ca } : {}),
          timeout: this.#o.timeoutMs,
          minVersion: 'TLSv1.2',
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve();
          else reject(new Error(`answered ${code}`));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(r.body);
    });
  }
}
