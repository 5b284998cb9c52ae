import type { Command } from 'commander';
import { parseDomain } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import { DkimKeys, defaultSelector, zoneLine } from '../mail/queue/dkim.ts';
import type { openServices } from '../main.ts';
import { action, configFrom, printTable, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

async function withKeys(
  opts: StoreOptions,
  fn: (keys: DkimKeys, services: Awaited<ReturnType<typeof openServices>>) => Promise<void>,
): Promise<void> {
  const services = await openCliServices(configFrom(opts));
  try {
    await fn(new DkimKeys(services.db), services);
  } finally {
    await services.close();
  }
}

/** A selector that sorts by creation month, e.g. `fp202611`, so rotations get new names. */
/** `fingerpost admin dkim create|list|remove`: DKIM signing keys per domain (RFC 6376). */
export function registerAdminDkim(admin: Command): void {
  const dkim = admin.command('dkim').description('DKIM keys that sign outbound mail per domain');
  withStoreOptions(dkim.command('create').description('create a signing key for a domain and print the DNS TXT record to publish'))
    .argument('<domain>')
    .option('--selector <name>', 'DKIM selector (default fpYYYYMM)')
    .action(
      action(async (name: string, opts: StoreOptions & { selector?: string }) =>
        withKeys(opts, async (keys, services) => {
          const domain = parseDomain(name);
          if (!(await services.directory.findDomain(domain))) {
            throw new FingerpostError('unknown_domain', `domain ${domain} is not served here`, {
              hint: `add it first: fingerpost admin domain add ${domain}`,
            });
          }
          const info = await keys.create(domain, opts.selector ?? defaultSelector());
          process.stdout.write(
            `created DKIM key ${info.selector} for ${info.domain} (RSA 2048, rsa-sha256); outbound mail from ${info.domain} is signed with it now\n`,
          );
          process.stdout.write(`publish this TXT record:\n\n${zoneLine(info)}\n\n`);
          process.stdout.write(`name:  ${info.dnsName}\nvalue: ${info.dnsValue}\n`);
        }),
      ),
    );
  withStoreOptions(dkim.command('list').description('list DKIM keys and their DNS records'))
    .option('--domain <domain>', 'only this domain')
    .action(
      action(async (opts: StoreOptions & { domain?: string }) =>
        withKeys(opts, async (keys) => {
          const list = await keys.list(opts.domain);
          printTable(
            ['DOMAIN', 'SELECTOR', 'ACTIVE', 'CREATED', 'DNS NAME'],
            list.map((k) => [k.domain, k.selector, k.active ? 'yes' : '', new Date(k.createdAt).toISOString().slice(0, 10), k.dnsName]),
          );
        }),
      ),
    );
  withStoreOptions(dkim.command('remove').description('delete a DKIM key (after its DNS record is gone)'))
    .argument('<domain>')
    .argument('<selector>')
    .action(
      action(async (domain: string, selector: string, opts: StoreOptions) =>
        withKeys(opts, async (keys) => {
          await keys.remove(domain, selector);
          process.stdout.write(`removed DKIM key ${selector} of ${domain}\n`);
        }),
      ),
    );
}
