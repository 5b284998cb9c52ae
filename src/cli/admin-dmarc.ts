import type { Command } from 'commander';
import { FingerpostError } from '../core/errors.ts';
import { gunzipSync } from 'node:zlib';
import { createLogger } from '../core/log.ts';
import { CachingResolver } from '../mail/inbound/dns-cache.ts';
import { DmarcReports } from '../mail/inbound/dmarc-reports.ts';
import { DailyReports } from '../mail/reports/daily-reports.ts';
import { ReportStore } from '../mail/reports/report-store.ts';
import { action, configFrom, printTable, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

async function withReports(opts: StoreOptions, fn: (reports: DmarcReports) => Promise<void>): Promise<void> {
  const services = await openCliServices(configFrom(opts));
  try {
    await fn(new DmarcReports(services.db));
  } finally {
    await services.close();
  }
}

const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');

/**
 * `fingerpost admin dmarc reports|show|pending`: DMARC aggregate reports received for our domains,
 * and those this server will send (RFC 7489 §7.2).
 */
export function registerAdminDmarc(admin: Command): void {
  const dmarc = admin.command('dmarc').description('DMARC aggregate reports received at inbound.dmarc_report_addresses');
  withStoreOptions(dmarc.command('reports').description('list received aggregate reports, newest first'))
    .option('--domain <domain>', 'only reports about this domain')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: StoreOptions & { domain?: string; limit: string; json?: boolean }) =>
        withReports(opts, async (reports) => {
          const limit = Number(opts.limit);
          if (!Number.isInteger(limit) || limit < 1) throw new FingerpostError('invalid_argument', '--limit must be a positive integer');
          const list = await reports.list({ ...(opts.domain ? { domain: opts.domain } : {}), limit });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
            return;
          }
          printTable(
            ['ID', 'DOMAIN', 'REPORTER', 'FROM', 'TO', 'MESSAGES', 'FAILED', 'POLICY'],
            list.map((r) => [String(r.id), r.domain, r.orgName, day(r.begin), day(r.end), String(r.messages), String(r.failed), r.policy]),
          );
        }),
      ),
    );
  withStoreOptions(dmarc.command('pending').description('aggregate reports this server will send (RFC 7489 §7.2), and to whom'))
    .option('--at <time>', 'as if it were this time (ISO 8601); default now: days before today are due')
    .option('--xml', 'print each report as it will be attached')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: StoreOptions & { at?: string; xml?: boolean; json?: boolean }) => {
        const at = opts.at ? Date.parse(opts.at) : Date.now();
        if (!Number.isFinite(at)) throw new FingerpostError('invalid_argument', '--at must be an ISO 8601 time');
        const config = configFrom(opts);
        const services = await openCliServices(config);
        try {
          const q = config.queue;
          const resolver = new CachingResolver({ servers: q.dns_servers, timeoutMs: q.connect_timeout, ttlMs: 0, maxEntries: 100 });
          const store = new ReportStore(services.db);
          const plans = await new DailyReports({
            store,
            orgName: config.server.hostname,
            from: q.report_from || `postmaster@${config.server.hostname}`,
            resolve: resolver.resolve,
            enqueue: async () => {
              throw new FingerpostError('invalid_argument', 'the CLI only shows reports');
            },
            dmarc: true,
            tlsRpt: false,
            timeoutMs: q.connect_timeout,
            logger: createLogger('silent'),
          }).plan(at, ['dmarc']);
          const out = await Promise.all(
            plans.map(async (p) => ({
              domain: p.domain,
              day: p.day,
              reportId: p.reportId,
              rows: (await store.dmarcRows(p.domain, p.day)).length,
              messages: (await store.dmarcRows(p.domain, p.day)).reduce((n, r) => n + r.messages, 0),
              destinations: p.destinations.map((d) => d.uri),
              refused: p.refused,
              ...(opts.xml ? { xml: gunzipSync(p.body).toString('utf8') } : {}),
            })),
          );
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
            return;
          }
          printTable(
            ['DOMAIN', 'DAY', 'MESSAGES', 'TO', 'REFUSED'],
            out.map((r) => [
              r.domain,
              r.day,
              String(r.messages),
              r.destinations.join(' '),
              r.refused.map((x) => `${x.uri} (${x.why})`).join('; '),
            ]),
          );
          if (opts.xml) for (const r of out) process.stdout.write(`\n${r.xml}`);
        } finally {
          await services.close();
        }
      }),
    );
  withStoreOptions(dmarc.command('show').description("one report's rows: source address, count, DMARC results"))
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, opts: StoreOptions & { json?: boolean }) =>
        withReports(opts, async (reports) => {
          const records = /^\d{1,15}$/.test(id) ? await reports.records(Number(id)) : undefined;
          if (!records) throw new FingerpostError('not_found', `no DMARC report ${id}`, { hint: 'see fingerpost admin dmarc reports' });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
            return;
          }
          printTable(
            ['SOURCE', 'COUNT', 'DISPOSITION', 'DKIM', 'SPF', 'HEADER FROM', 'DKIM RESULTS', 'SPF RESULTS'],
            records.map((r) => [
              r.sourceIp,
              String(r.count),
              r.disposition,
              r.dkim,
              r.spf,
              r.headerFrom,
              r.dkimResults.join(' '),
              r.spfResults.join(' '),
            ]),
          );
        }),
      ),
    );
}
