import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { parseAddress } from '../core/address.ts';
import { clientContext } from '../client/context.ts';
import { clientAction, note } from '../client/report.ts';
import { shellWord } from '../client/setup/common.ts';
import { CONFIG_FILES, SETUP_CLIENTS, type SetupClient, snippet } from '../client/setup/index.ts';

interface SetupOptions {
  for: SetupClient;
  command?: string;
  ca?: string;
}

/**
 * `fingerpost` when it is on the user's PATH, else this checkout's launcher by absolute path, run
 * by this very Node (24) so each token call skips the launcher's re-execution. Under npm (`npx
 * fingerpost`, `npm run`) PATH has npm's own additions, which the mail client will not have.
 */
function defaultCommand(env: NodeJS.ProcessEnv = process.env): string {
  const underNpm = env.npm_command !== undefined || env.npm_lifecycle_event !== undefined;
  if (!underNpm && spawnSync('/bin/sh', ['-c', 'command -v fingerpost'], { stdio: 'ignore' }).status === 0) return 'fingerpost';
  return `${shellWord(process.execPath)} ${shellWord(path.resolve(import.meta.dirname, '..', '..', 'bin', 'fingerpost.js'))}`;
}

/** `fingerpost setup EMAIL --for CLIENT`: prints a working configuration snippet. */
export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('print a configuration snippet for a terminal mail client that gets its tokens from fingerpost token')
    .argument('<email>', 'a signed-in account (fingerpost login)')
    .addOption(new Option('--for <client>', 'the mail client').choices(SETUP_CLIENTS).makeOptionMandatory())
    .option('--command <cmd>', 'how the mail client should run fingerpost (default: fingerpost if on PATH, else this launcher)')
    .option('--ca <file>', 'a CA file (PEM) the client and fingerpost token should trust (default: the one given to login --ca)')
    .action(
      clientAction(async (email: string, opts: SetupOptions) => {
        const { store } = clientContext({});
        const account = await store.load(parseAddress(email).normalized);
        const ca = opts.ca ? path.resolve(opts.ca) : account.ca;
        process.stdout.write(snippet(opts.for, { account, command: opts.command ?? defaultCommand(), ...(ca ? { ca } : {}) }));
        note(`fingerpost: add this to ${CONFIG_FILES[opts.for]}; docs/clients/${opts.for}.md explains it`);
      }),
    );
}
