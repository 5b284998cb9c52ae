import { type Command, Option } from 'commander';
import { parseAddress } from '../core/address.ts';
import { checkAccount, formatResult } from '../client/check/run.ts';
import { clientContext } from '../client/context.ts';
import { clientAction } from '../client/report.ts';
import { SERVICE_NAMES, type ServiceName } from '../client/store/account.ts';

interface CheckCliOptions {
  service: ServiceName[];
  mechanism: 'auto' | 'both' | 'oauthbearer' | 'xoauth2';
  ca?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `fingerpost check EMAIL`: real logins on every service of the account, one line each (issue 9 item 4). */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('sign in to every service of EMAIL (IMAP, POP3, SMTP, JMAP) with its token and report, one line per service')
    .argument('<email>', 'a signed-in account (fingerpost login)')
    .option('--service <name>', `only this service (${SERVICE_NAMES.filter((s) => s !== 'calendar').join(', ')}); repeatable`, collect, [])
    .addOption(
      new Option('--mechanism <m>', 'SASL mechanism for IMAP/POP3/SMTP')
        .choices(['auto', 'both', 'oauthbearer', 'xoauth2'])
        .default('auto'),
    )
    .option('--ca <file>', 'also trust the CA certificates in this PEM file')
    .action(
      clientAction(async (email: string, opts: CheckCliOptions) => {
        const { store } = clientContext(opts);
        const services = opts.service.map((s) => {
          if (!(SERVICE_NAMES as readonly string[]).includes(s)) throw new Error(`unknown service "${s}"`);
          return s as ServiceName;
        });
        const mechanism = opts.mechanism === 'oauthbearer' ? 'OAUTHBEARER' : opts.mechanism === 'xoauth2' ? 'XOAUTH2' : opts.mechanism;
        process.exitCode = await checkAccount(store, parseAddress(email).normalized, { services, mechanism }, (r) =>
          process.stdout.write(`${formatResult(r)}\n`),
        );
      }),
    );
}
