import { type Command, Option } from 'commander';
import { parseAddress } from '../core/address.ts';
import { clientContext } from '../client/context.ts';
import { localProblem } from '../client/errors.ts';
import { formatToken, TOKEN_FORMATS, type TokenFormat } from '../client/format.ts';
import { keepalive } from '../client/keepalive.ts';
import { clientAction } from '../client/report.ts';
import { SERVICE_NAMES, type ServiceName } from '../client/store/account.ts';
import { accessToken } from '../client/tokens.ts';

interface TokenOptions {
  service?: ServiceName;
  format: TokenFormat;
  minValid?: string;
  keepalive?: boolean;
  warnDays: string;
  ca?: string;
}

/**
 * `fingerpost token EMAIL`: prints only the access token on stdout, refreshing ahead of expiry
 * (RFC 6749 §6); `--keepalive` refreshes for cron and warns before a refresh token expires.
 */
export function registerToken(program: Command): void {
  program
    .command('token')
    .description('print a valid access token for EMAIL (refreshing it when needed); exit 0 ok, 2 sign-in needed, 3 try later')
    .argument('[email]', 'the account (all accounts with --keepalive when omitted)')
    .addOption(new Option('--service <name>', 'the service the token is for (its resource indicator)').choices(SERVICE_NAMES))
    .addOption(new Option('--format <format>', 'what to print').choices(TOKEN_FORMATS).default('token'))
    .option('--min-valid <seconds>', 'refresh when fewer seconds than this are left (default: min(300, half the lifetime))')
    .option('--keepalive', 'refresh now (for cron) so the refresh token stays alive; print nothing on success')
    .option('--warn-days <days>', 'with --keepalive: warn when the sign-in expires within this many days', '14')
    .option('--ca <file>', 'also trust the CA certificates in this PEM file')
    .action(
      clientAction(async (email: string | undefined, options: TokenOptions) => {
        const { store } = clientContext(options);
        if (options.keepalive) {
          const warnDays = Number(options.warnDays);
          if (!(options.warnDays.trim() !== '' && Number.isFinite(warnDays) && warnDays >= 0))
            throw localProblem('--warn-days must be a number of days');
          const addresses = email ? [parseAddress(email).normalized] : await store.list();
          if (!addresses.length) throw localProblem('no accounts are signed in', 'fingerpost login EMAIL');
          process.exitCode = await keepalive(store, addresses, { warnDays, service: options.service });
          return;
        }
        if (!email) throw localProblem('which account? give the email address', 'fingerpost token alice@localhost');
        const minValid = options.minValid === undefined ? undefined : Number(options.minValid);
        if (minValid !== undefined && !(Number.isFinite(minValid) && minValid >= 0))
          throw localProblem('--min-valid must be a number of seconds');
        const issued = await accessToken(
          { address: parseAddress(email).normalized, service: options.service, minValiditySeconds: minValid },
          { store },
        );
        process.stdout.write(`${formatToken(issued, options.format, options.service)}\n`);
      }),
    );
}
