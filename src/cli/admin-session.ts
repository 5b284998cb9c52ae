import type { Command } from 'commander';
import { SessionAdmin } from '../admin/sessions.ts';
import { parseAddress } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import type { Services } from '../main.ts';
import { action, configFrom, printTable, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

async function withServices(opts: StoreOptions, fn: (s: Services) => Promise<void>): Promise<void> {
  const services = await openCliServices(configFrom(opts));
  try {
    await fn(services);
  } finally {
    await services.close();
  }
}

async function accountId(s: Services, address: string): Promise<number> {
  const account = await s.directory.findByAddress(parseAddress(address).normalized);
  if (!account) throw new FingerpostError('not_found', `no account ${address}`, { hint: 'list accounts with: fingerpost admin user list' });
  return account.id;
}

/**
 * `fingerpost admin session list|revoke`: the live sessions every running node
 * mirrors into the store, and revocations published on the events table that every node applies
 * within `auth.events_poll` with the protocol's own goodbye. Works while the server runs.
 */
export function registerAdminSession(admin: Command): void {
  const session = admin.command('session').description('live authenticated sessions (IMAP, POP3, SMTP, JMAP push)');
  withStoreOptions(session.command('list').description('list live sessions on every running node'))
    .option('--account <address>', 'only this account')
    .option('--json', 'print JSON lines')
    .action(
      action(async (opts: StoreOptions & { account?: string; json?: boolean }) =>
        withServices(opts, async (s) => {
          const sessions = await new SessionAdmin(s.db).list(opts.account ? await accountId(s, opts.account) : undefined);
          if (opts.json) {
            for (const x of sessions) process.stdout.write(`${JSON.stringify(x)}\n`);
            return;
          }
          printTable(
            ['ID', 'ACCOUNT', 'PROTOCOL', 'LISTENER', 'REMOTE', 'METHOD', 'CREDENTIAL', 'STARTED', 'EXPIRES'],
            sessions.map((x) => [
              x.id,
              x.address,
              x.protocol,
              x.listener,
              x.remote,
              x.method,
              x.method === 'app_password' ? `app-password ${x.credentialId}` : (x.credentialId ?? '-'),
              iso(x.startedAt),
              iso(x.expiresAt),
            ]),
          );
        }),
      ),
    );
  withStoreOptions(session.command('revoke').description('end a live session (by id), or every session of an account'))
    .argument('[id]', 'session id from "fingerpost admin session list"')
    .option('--account <address>', 'end every session of this account')
    .action(
      action(async (id: string | undefined, opts: StoreOptions & { account?: string }) =>
        withServices(opts, async (s) => {
          if ((id === undefined) === (opts.account === undefined))
            throw new FingerpostError('invalid_argument', 'give either a session id or --account', {
              hint: 'fingerpost admin session revoke s… | fingerpost admin session revoke --account user@example.test',
            });
          const admin = new SessionAdmin(s.db);
          if (opts.account) {
            const n = await admin.revokeAccount(await accountId(s, opts.account));
            process.stdout.write(`ending ${n} live session(s) of ${opts.account.toLowerCase()}\n`);
            return;
          }
          const live = await admin.revoke(id!);
          process.stdout.write(`ending session ${live.id} (${live.address}, ${live.protocol} from ${live.remote})\n`);
        }),
      ),
    );
}
