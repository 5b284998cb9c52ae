import type { Command } from 'commander';
import { parseDuration } from '../config/duration.ts';
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

/** A selector for a rotation, distinct within a month: `fpYYYYMMDD`. */
function rotationSelector(): string {
  return `${defaultSelector()}${String(new Date().getUTCDate()).padStart(2, '0')}`;
}

const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** `fingerpost admin dkim create|list|rotate|remove`: DKIM signing keys per domain (RFC 6376). */
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
            ['DOMAIN', 'SELECTOR', 'STATE', 'CREATED', 'DNS NAME'],
            list.map((k) => [
              k.domain,
              k.selector,
              k.state === 'pending' && k.activateAt ? `pending until ${stamp(k.activateAt)}` : k.state,
              new Date(k.createdAt).toISOString().slice(0, 10),
              k.dnsName,
            ]),
          );
        }),
      ),
    );
  withStoreOptions(
    dkim.command('rotate').description('create the next key under a new selector; it signs once its DNS record had time to spread'),
  )
    .argument('<domain>')
    .option('--selector <name>', 'the new DKIM selector (default fpYYYYMMDD)')
    .option('--after <duration>', 'when the new key starts signing (publish its record before then)', '48h')
    .action(
      action(async (name: string, opts: StoreOptions & { selector?: string; after: string }) =>
        withKeys(opts, async (keys) => {
          const domain = parseDomain(name);
          const delay = parseDuration(opts.after);
          if (delay === undefined)
            throw new FingerpostError('invalid_argument', `--after "${opts.after}" is not a duration such as 48h or 2d`);
          const old = (await keys.list(domain)).find((k) => k.active);
          const now = Date.now();
          const info = await keys.rotate(domain, opts.selector ?? rotationSelector(), now + delay, now);
          const out = [
            `created DKIM key ${info.selector} for ${info.domain} (RSA 2048, rsa-sha256); it signs from ${stamp(now + delay)}`,
            `${old ? `until then ${old.selector} signs; ` : ''}publish this TXT record now:`,
            '',
            zoneLine(info),
            '',
            `name:  ${info.dnsName}`,
            `value: ${info.dnsValue}`,
            '',
            `check it with: fingerpost doctor ${info.domain}`,
            ...(old
              ? [
                  `keep ${old.dnsName} published for at least 7 days after the switch (mail already sent is verified with it),`,
                  `then: fingerpost admin dkim remove ${info.domain} ${old.selector} and delete its DNS record`,
                ]
              : []),
          ];
          process.stdout.write(`${out.join('\n')}\n`);
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
