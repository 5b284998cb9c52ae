import type { Command } from 'commander';

/**
 * The `fingerpost` command. Each subcommand's module is imported only when that subcommand runs:
 * `fingerpost token`, which mail clients run on every connection, loads the client helper and
 * nothing of the server (`serve`, `admin` load theirs), and a well-formed call does not even load
 * the command-line library (cli/token-run.ts); a token the agent holds is printed with nothing
 * but a socket loaded (cli/token-agent.ts). `--help` and unknown names load them all.
 */
type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.ts')).registerServe,
  admin: async () => (await import('./admin.ts')).registerAdmin,
  discover: async () => (await import('./discover.ts')).registerDiscover,
  dns: async () => (await import('./dns.ts')).registerDns,
  doctor: async () => (await import('./doctor.ts')).registerDoctor,
  freebusy: async () => (await import('./freebusy.ts')).registerFreeBusy,
  login: async () => (await import('./login.ts')).registerLogin,
  logout: async () => (await import('./login.ts')).registerLogin,
  token: async () => (await import('./token.ts')).registerToken,
  check: async () => (await import('./check.ts')).registerCheck,
  setup: async () => (await import('./setup.ts')).registerSetup,
  agent: async () => (await import('./agent.ts')).registerAgent,
  backup: async () => (await import('./backup.ts')).registerBackup,
  restore: async () => (await import('./backup.ts')).registerBackup,
};

/** The program with the subcommand `name` registered, or every subcommand when `name` is not one. */
export async function buildProgram(name?: string): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('fingerpost')
    .description('Fingerpost: mail and calendar server where an email address is all a person needs')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  const loaders = name && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : [...new Set(Object.values(COMMANDS))];
  const seen = new Set<Register>();
  for (const load of loaders) {
    const register = await load();
    if (seen.has(register)) continue;
    seen.add(register);
    register(program);
  }
  return program;
}

const name = process.argv[2];
const tokenDone =
  name === 'token' &&
  ((await (await import('./token-agent.ts')).tokenViaAgent(process.argv.slice(3))) ||
    (await (await import('./token-run.ts')).tokenFastPath(process.argv.slice(3))));
if (!tokenDone) {
  const program = await buildProgram(name);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { exitCode?: number; code?: string }).exitCode;
    const kind = (err as { code?: string }).code ?? '';
    if (kind === 'commander.helpDisplayed' || kind === 'commander.version' || kind === 'commander.help') process.exitCode = 0;
    // `token` keeps exit 2 for "sign in again" (src/client/errors.ts): a usage error there is 1.
    else process.exitCode = code === 0 ? 0 : name === 'token' ? 1 : 2;
  }
}
