import type { Command } from 'commander';
import { FingerpostError } from '../core/errors.ts';
import { DmarcReports } from '../mail/inbound/dmarc-reports.ts';
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

/** `fingerpost admin dmarc reports|show`: DMARC aggregate reports received for our domains (RFC 7489 §7.2). */
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
