import type { Command } from 'commander';
import { parseDuration } from '../config/duration.ts';
import { FingerpostError } from '../core/errors.ts';
import { APP_PASSWORD_PROTOCOLS } from '../directory/directory.ts';
import type { Services } from '../main.ts';
import { accountQuota, parseQuotaSize, setAccountQuota } from '../admin/quota.ts';
import { registerAdminBlobs } from './admin-blobs.ts';
import { registerAdminIdp } from './admin-idp.ts';
import { registerAdminImport } from './admin-import.ts';
import { registerAdminDkim } from './admin-dkim.ts';
import { registerAdminDmarc } from './admin-dmarc.ts';
import { registerAdminQueue } from './admin-queue.ts';
import { registerAdminSession } from './admin-session.ts';
import { registerAdminCalendar } from './admin-calendar.ts';
import { action, configFrom, printTable, readStdinLine, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** Opens the store named by the command's --data/--config, runs `fn`, closes. Works while the server runs. */
async function withServices(opts: StoreOptions, fn: (s: Services) => Promise<void>): Promise<void> {
  const services = await openCliServices(configFrom(opts));
  try {
    await fn(services);
  } finally {
    await services.close();
  }
}

function adminCommand(parent: Command, name: string, description: string): Command {
  return withStoreOptions(parent.command(name).description(description));
}

/** `fingerpost admin …`: domains, users, aliases and app passwords, straight on the data directory. */
export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('administer domains, users, aliases and app passwords');
  registerAdminCalendar(admin);
  registerAdminQueue(admin);
  registerAdminSession(admin);
  registerAdminDkim(admin);
  registerAdminDmarc(admin);
  registerAdminIdp(admin);
  registerAdminBlobs(admin);
  registerAdminImport(admin);

  const domain = admin.command('domain').description('domains served here');
  adminCommand(domain, 'add', 'serve a new domain')
    .argument('<domain>')
    .action(
      action(async (name: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const d = await s.accounts.addDomain(name);
          process.stdout.write(`added domain ${d.name}\n`);
        }),
      ),
    );
  adminCommand(domain, 'list', 'list domains').action(
    action(async (opts: StoreOptions) =>
      withServices(opts, async (s) => {
        printTable(
          ['DOMAIN', 'CREATED'],
          (await s.accounts.listDomains()).map((d) => [d.name, iso(d.createdAt)]),
        );
      }),
    ),
  );
  adminCommand(domain, 'remove', 'stop serving a domain (it must have no accounts)')
    .argument('<domain>')
    .action(
      action(async (name: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          await s.accounts.removeDomain(name);
          process.stdout.write(`removed domain ${name}\n`);
        }),
      ),
    );

  const user = admin.command('user').description('accounts');
  adminCommand(user, 'add', 'create an account; prints a generated password once unless --password-stdin')
    .argument('<address>')
    .option('--password-stdin', 'read the password from standard input')
    .option('--name <display name>', 'display name')
    .option('--admin', 'make the account an administrator')
    .action(
      action(async (address: string, opts: StoreOptions & { passwordStdin?: boolean; name?: string; admin?: boolean }) => {
        const password = opts.passwordStdin ? await readStdinLine() : undefined;
        await withServices(opts, async (s) => {
          const { account, generatedPassword } = await s.accounts.addUser({
            address,
            password,
            displayName: opts.name,
            isAdmin: opts.admin,
          });
          process.stdout.write(`added ${account.address}\n`);
          if (generatedPassword) process.stdout.write(`password: ${generatedPassword}\n(shown once)\n`);
        });
      }),
    );
  adminCommand(user, 'list', 'list accounts')
    .option('--domain <domain>', 'only this domain')
    .action(
      action(async (opts: StoreOptions & { domain?: string }) =>
        withServices(opts, async (s) => {
          const users = await s.accounts.listUsers(opts.domain);
          printTable(
            ['ADDRESS', 'NAME', 'ADMIN', 'DISABLED', 'CREATED'],
            users.map((u) => [u.address, u.displayName, u.isAdmin ? 'yes' : '', u.disabled ? 'yes' : '', iso(u.createdAt)]),
          );
        }),
      ),
    );
  adminCommand(user, 'remove', 'delete an account and its mail')
    .argument('<address>')
    .action(
      action(async (address: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          await s.accounts.removeUser(address);
          process.stdout.write(`removed ${address}\n`);
        }),
      ),
    );
  adminCommand(user, 'passwd', 'set a new password (generated and printed once unless --password-stdin); ends live sessions')
    .argument('<address>')
    .option('--password-stdin', 'read the password from standard input')
    .action(
      action(async (address: string, opts: StoreOptions & { passwordStdin?: boolean }) => {
        const password = opts.passwordStdin ? await readStdinLine() : undefined;
        await withServices(opts, async (s) => {
          const { generatedPassword } = await s.accounts.setPassword(address, password);
          process.stdout.write(`password changed for ${address}\n`);
          if (generatedPassword) process.stdout.write(`password: ${generatedPassword}\n(shown once)\n`);
        });
      }),
    );
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    adminCommand(user, name, `${name} an account${disabled ? ' (ends its live sessions)' : ''}`)
      .argument('<address>')
      .action(
        action(async (address: string, opts: StoreOptions) =>
          withServices(opts, async (s) => {
            await s.accounts.setDisabled(address, disabled);
            process.stdout.write(`${name}d ${address}\n`);
          }),
        ),
      );
  }

  adminCommand(user, 'quota', 'show the storage quota, or set it: octets, K/M/G/T (powers of 1024), or none')
    .argument('<address>')
    .argument('[size]')
    .action(
      action(async (address: string, size: string | undefined, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const q = size === undefined ? await accountQuota(s, address) : await setAccountQuota(s, address, parseQuotaSize(size));
          process.stdout.write(`${address}: ${q.used} octets used of ${q.limit ?? 'unlimited'}\n`);
        }),
      ),
    );

  const alias = admin.command('alias').description('extra addresses that deliver to an account');
  adminCommand(alias, 'add', 'add an alias')
    .argument('<alias>')
    .argument('<account>')
    .action(
      action(async (a: string, target: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          await s.accounts.addAlias(a, target);
          process.stdout.write(`${a.toLowerCase()} -> ${target.toLowerCase()}\n`);
        }),
      ),
    );
  adminCommand(alias, 'remove', 'remove an alias')
    .argument('<alias>')
    .action(
      action(async (a: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          await s.accounts.removeAlias(a);
          process.stdout.write(`removed alias ${a}\n`);
        }),
      ),
    );
  adminCommand(alias, 'list', 'list aliases').action(
    action(async (opts: StoreOptions) =>
      withServices(opts, async (s) => {
        printTable(
          ['ALIAS', 'ACCOUNT'],
          (await s.accounts.listAliases()).map((a) => [a.alias, a.target]),
        );
      }),
    ),
  );

  const app = admin.command('app-password').description('per-device passwords for clients without OAuth');
  adminCommand(app, 'create', 'create an app password; the secret is printed once')
    .argument('<address>')
    .requiredOption('--name <name>', 'what it is for, e.g. "phone"')
    .option('--protocols <list>', `comma-separated: ${APP_PASSWORD_PROTOCOLS.join(',')}`, APP_PASSWORD_PROTOCOLS.join(','))
    .option('--expires <duration>', 'lifetime, e.g. 90d')
    .action(
      action(async (address: string, opts: StoreOptions & { name: string; protocols: string; expires?: string }) => {
        let expiresAt: number | null = null;
        if (opts.expires) {
          const ms = parseDuration(opts.expires);
          if (ms === undefined || ms === 0)
            throw new FingerpostError('invalid_argument', `--expires ${opts.expires} is not a duration`, {
              hint: 'use e.g. 30d, 12h or 3600',
            });
          expiresAt = Date.now() + ms;
        }
        await withServices(opts, async (s) => {
          const { info, secret } = await s.accounts.createAppPassword({
            address,
            name: opts.name,
            protocols: opts.protocols
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean),
            expiresAt,
          });
          process.stdout.write(
            `app password ${info.id} "${info.name}" for ${address} (${info.protocols.join(',')}${expiresAt ? `, expires ${iso(expiresAt)}` : ''})\n`,
          );
          process.stdout.write(`secret: ${secret}\n(shown once)\n`);
        });
      }),
    );
  adminCommand(app, 'list', 'list app passwords of an account')
    .argument('<address>')
    .action(
      action(async (address: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const list = await s.accounts.listAppPasswords(address);
          printTable(
            ['ID', 'NAME', 'PROTOCOLS', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED'],
            list.map((p) => [
              String(p.id),
              p.name,
              p.protocols.join(','),
              iso(p.createdAt),
              iso(p.lastUsedAt),
              iso(p.expiresAt),
              iso(p.revokedAt),
            ]),
          );
        }),
      ),
    );
  adminCommand(app, 'revoke', 'revoke an app password (by id or name); ends sessions that use it')
    .argument('<address>')
    .argument('<id-or-name>')
    .action(
      action(async (address: string, idOrName: string, opts: StoreOptions) =>
        withServices(opts, async (s) => {
          const info = await s.accounts.revokeAppPassword(address, idOrName);
          process.stdout.write(`revoked app password ${info.id} "${info.name}"\n`);
        }),
      ),
    );
}
