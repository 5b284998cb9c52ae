import { type Command, Option } from 'commander';
import { runToken, TOKEN_OPTIONS } from './token-run.ts';

/**
 * `fingerpost token EMAIL` through the command-line library: help, and the errors of a malformed
 * call (a well-formed one is run by `tokenFastPath` in cli/token-run.ts before this is loaded).
 */
export function registerToken(program: Command): void {
  const command = program
    .command('token')
    .description('print a valid access token for EMAIL (refreshing it when needed); exit 0 ok, 2 sign-in needed, 3 try later')
    .argument('[email]', 'the account (all accounts with --keepalive when omitted)');
  for (const o of TOKEN_OPTIONS) {
    const option = new Option(`--${o.flag}${o.value ? ` <${o.value}>` : ''}`, o.help);
    if (o.choices) option.choices(o.choices);
    if (o.default !== undefined) option.default(o.default);
    command.addOption(option);
  }
  command.action(runToken);
}
