import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type DavImportReport, importCalendarFiles, importContactFiles } from '../admin/import/dav.ts';
import { imapSource } from '../admin/import/imap.ts';
import { maildirSource } from '../admin/import/maildir.ts';
import { mboxSource } from '../admin/import/mbox.ts';
import { importMail } from '../admin/import/run.ts';
import type { ImportSource } from '../admin/import/source.ts';
import { FingerpostError } from '../core/errors.ts';
import { action, configFrom, readStdinLine, type StoreOptions, withStoreOptions } from './common.ts';
import { progressLine } from './progress.ts';
import { ContactsStore, DEFAULT_ADDRESSBOOK } from '../contacts/store.ts';
import type { DirectoryAccount } from '../directory/directory.ts';
import { openCliServices } from './services.ts';

interface ImapOptions extends StoreOptions {
  user: string;
  starttls?: boolean;
  ca?: string;
  servername?: string;
}

function hostPort(value: string, secure: boolean): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(value);
  if (!m) throw new FingerpostError('invalid_argument', `"${value}" is not host[:port]`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : secure ? 993 : 143 };
}

async function run(address: string, opts: StoreOptions, source: () => Promise<ImportSource>): Promise<void> {
  const config = configFrom(opts);
  const services = await openCliServices(config);
  try {
    const account = await services.directory.findByAddress(address.toLowerCase());
    if (!account)
      throw new FingerpostError('not_found', `no account ${address}`, { hint: `create it first: fingerpost admin user add ${address}` });
    const progress = progressLine();
    const report = await importMail(services.mail, account.id, await source(), path.join(config.dataDir, 'import'), (p) =>
      progress(p.folder, p.done, p.total ?? p.done, `${p.imported} imported in all`),
    );
    process.stdout.write(
      `imported ${report.imported} message(s) from ${report.folders} folder(s)${report.resumedFrom ? ` (resumed ${report.resumedFrom} folder(s) where an earlier run stopped)` : ''}\n`,
    );
    if (report.skipped.length) {
      process.stdout.write(`skipped ${report.skipped.length}:\n`);
      for (const s of report.skipped) process.stdout.write(`  ${s.folder} ${s.ref}: ${s.reason}\n`);
    }
  } finally {
    await services.close();
  }
}

/** Calendar or contact files into an account (src/admin/import/dav.ts), with the report printed. */
async function runDav(
  address: string,
  opts: StoreOptions,
  what: (services: Awaited<ReturnType<typeof openCliServices>>, account: DirectoryAccount) => Promise<DavImportReport>,
): Promise<void> {
  const services = await openCliServices(configFrom(opts));
  try {
    const account = await services.directory.findByAddress(address.toLowerCase());
    if (!account)
      throw new FingerpostError('not_found', `no account ${address}`, { hint: `create it first: fingerpost admin user add ${address}` });
    const r = await what(services, account);
    process.stdout.write(`imported ${r.exact + r.split} object(s): ${r.exact} byte for byte, ${r.split} split from multi-UID files\n`);
    if (r.skipped.length) {
      process.stdout.write(`skipped ${r.skipped.length}:\n`);
      for (const s of r.skipped) process.stdout.write(`  ${s.file}: ${s.reason}\n`);
      process.exitCode = 1;
    }
  } finally {
    await services.close();
  }
}

/**
 * `fingerpost admin import maildir|mbox|imap|ics|vcf`: mail from another server into an account, with
 * folders, flags, keywords and arrival dates; resumable (run it again after a stop) and with a
 * report of what was skipped (docs/operations.md).
 */
export function registerAdminImport(admin: Command): void {
  const imp = admin.command('import').description('move mail in from a Maildir, an mbox or a live IMAP server (resumable)');
  withStoreOptions(imp.command('maildir').description('import a Maildir (Dovecot, Postfix, mbsync; Maildir++ or LAYOUT=fs folders)'))
    .argument('<address>', 'the account to import into')
    .argument('<dir>', 'the Maildir root (holding cur/ new/ tmp/)')
    .action(action(async (address: string, dir: string, opts: StoreOptions) => run(address, opts, async () => maildirSource(dir))));
  withStoreOptions(imp.command('mbox').description('import an mbox file (into INBOX) or a directory of mbox files (mutt, /var/mail)'))
    .argument('<address>', 'the account to import into')
    .argument('<path>', 'an mbox file or a directory of them')
    .action(action(async (address: string, file: string, opts: StoreOptions) => run(address, opts, async () => mboxSource(file))));
  withStoreOptions(imp.command('ics').description('import an .ics file or a directory of them (a vdir, Radicale storage) into a calendar'))
    .argument('<address>', 'the account to import into')
    .argument('<path>', 'an .ics file or a directory of .ics files (one object each is kept byte for byte)')
    .option('--calendar <name>', 'the calendar (made when missing)', 'default')
    .action(
      action(async (address: string, source: string, opts: StoreOptions & { calendar: string }) =>
        runDav(address, opts, (s, account) => importCalendarFiles(s.calendar, account, opts.calendar, source)),
      ),
    );
  withStoreOptions(imp.command('vcf').description('import a .vcf file or a directory of them into an address book'))
    .argument('<address>', 'the account to import into')
    .argument('<path>', 'a .vcf file (one or many cards) or a directory of .vcf files; every card is kept byte for byte')
    .option('--addressbook <name>', 'the address book (made when missing)', DEFAULT_ADDRESSBOOK)
    .action(
      action(async (address: string, source: string, opts: StoreOptions & { addressbook: string }) =>
        runDav(address, opts, (s, account) => importContactFiles(new ContactsStore(s.db), account, opts.addressbook, source)),
      ),
    );
  withStoreOptions(
    imp.command('imap').description('import every folder of an account on a live IMAP server; the password is read from stdin'),
  )
    .argument('<address>', 'the account to import into')
    .argument('<server>', 'host[:port] of the source (port 993, or 143 with --starttls)')
    .requiredOption('--user <name>', 'the user name on the source server')
    .option('--starttls', 'connect to the plain port and upgrade with STARTTLS (required there)')
    .option('--ca <file>', 'a PEM CA file to trust for the source server')
    .option('--servername <name>', 'the certificate name to check, when connecting to an address')
    .action(
      action(async (address: string, server: string, opts: ImapOptions) =>
        run(address, opts, async () => {
          const { host, port } = hostPort(server, !opts.starttls);
          const password = await readStdinLine();
          return imapSource({
            host,
            port,
            secure: !opts.starttls,
            user: opts.user,
            password,
            ...(opts.ca ? { ca: await readFile(opts.ca, 'utf8') } : {}),
            ...(opts.servername ? { servername: opts.servername } : {}),
          });
        }),
      ),
    );
}
