import { Command } from 'commander';
import { registerAdmin } from './admin.ts';
import { registerCheck } from './check.ts';
import { registerDiscover } from './discover.ts';
import { registerDns } from './dns.ts';
import { registerDoctor } from './doctor.ts';
import { registerFreeBusy } from './freebusy.ts';
import { registerLogin } from './login.ts';
import { registerServe } from './serve.ts';
import { registerSetup } from './setup.ts';
import { registerToken } from './token.ts';

/** The `fingerpost` command: server, administration and (later) the client helper. */
export function buildProgram(): Command {
  const program = new Command('fingerpost')
    .description('Fingerpost: mail and calendar server where an email address is all a person needs')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  registerServe(program);
  registerAdmin(program);
  registerDiscover(program);
  registerDns(program);
  registerDoctor(program);
  registerFreeBusy(program);
  registerLogin(program);
  registerToken(program);
  registerCheck(program);
  registerSetup(program);
  return program;
}

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = (err as { exitCode?: number; code?: string }).exitCode;
  const name = (err as { code?: string }).code ?? '';
  if (name === 'commander.helpDisplayed' || name === 'commander.version' || name === 'commander.help') process.exitCode = 0;
  else process.exitCode = code === 0 ? 0 : 2;
}
