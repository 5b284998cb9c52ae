import type { Command } from 'commander';
import { parseDomain } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import { type DkimRecord, expectedRecords, zoneLine } from '../discovery/dns-records.ts';
import { recordTargetWarnings } from '../discovery/record-targets.ts';
import { DkimKeys } from '../mail/queue/dkim.ts';
import type { Services } from '../main.ts';
import { action, configFrom, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

/** Opens the store, checks the domain is served and reads its active DKIM keys. */
export async function domainFacts(opts: StoreOptions, name: string): Promise<{ services: Services; domain: string; dkim: DkimRecord[] }> {
  const services = await openCliServices(configFrom(opts));
  try {
    const domain = parseDomain(name);
    if (!(await services.directory.findDomain(domain))) {
      throw new FingerpostError('unknown_domain', `domain ${domain} is not served here`, {
        hint: `add it first: fingerpost admin domain add ${domain}`,
      });
    }
    const dkim = (await new DkimKeys(services.db).list(domain)).filter((k) => k.state !== 'retired');
    return { services, domain, dkim };
  } catch (err) {
    await services.close();
    throw err;
  }
}

/** `fingerpost dns DOMAIN`: the zone lines to publish, each with why. */
export function registerDns(program: Command): void {
  withStoreOptions(
    program
      .command('dns')
      .description('print every DNS record a served domain should publish (MX, SRV, autoconfig, PACC, SPF, DKIM, DMARC)'),
  )
    .argument('<domain>')
    .option('--json', 'print the records as JSON')
    .action(
      action(async (name: string, opts: StoreOptions & { json?: boolean }) => {
        const { services, domain, dkim } = await domainFacts(opts, name);
        try {
          const records = expectedRecords(services.config, domain, dkim);
          const warnings = await recordTargetWarnings(services.config.server.hostname);
          for (const w of warnings) process.stderr.write(`fingerpost: warning: ${w}\n`);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
            return;
          }
          const lines = [
            `; DNS records for ${domain} (served by ${services.config.server.hostname})`,
            ...warnings.map((w) => `; WARNING: ${w}`),
          ];
          for (const r of records) lines.push(`; ${r.why}`, zoneLine(r));
          if (!dkim.length) lines.push(`; DKIM: no key yet — run: fingerpost admin dkim create ${domain}, then rerun this command`);
          lines.push('; the PACC digest changes with the service list: rerun after changing ports, host name or auth settings');
          process.stdout.write(`${lines.join('\n')}\n`);
        } finally {
          await services.close();
        }
      }),
    );
}
