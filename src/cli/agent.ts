import type { Command } from 'commander';
import { agentForget, agentStatus, agentStop } from '../client/agent/client.ts';
import { agentSocketPath, agentTtlSeconds } from '../client/agent/socket-path.ts';
import { clientContext } from '../client/context.ts';
import { localProblem } from '../client/errors.ts';
import { clientAction, note } from '../client/report.ts';
import { parseAddress } from '../core/address.ts';
import { accountPaths } from '../client/store/paths.ts';

/**
 * `fingerpost agent unlock|status|forget|stop`: the token agent (src/client/agent/server.ts) that
 * keeps an age passphrase for a bounded time so mail clients' `fingerpost token` calls neither
 * ask again nor pay scrypt each time.
 */
export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description('the token agent: keeps the token passphrase unlocked for a while (FINGERPOST_AGENT_TTL seconds, default 8 h)');
  agent
    .command('unlock')
    .description('ask for the passphrase of EMAIL now and keep it unlocked in the agent')
    .argument('<email>', 'a signed-in account')
    .action(
      clientAction(async (email: string) => {
        const { store } = clientContext({});
        const account = await store.load(parseAddress(email).normalized);
        if (account.store.kind !== 'age') throw localProblem(`${account.address} is not kept with a passphrase (${account.store.reason})`);
        await store.openSecret(account);
        const held = (await agentStatus())?.find((a) => a.account === accountPaths(store.paths, account.address).file);
        if (!held)
          throw localProblem('the agent did not start', `check that ${agentSocketPath()} can be created, or set FINGERPOST_PASSPHRASE`);
        note(`${account.address} is unlocked for ${Math.round(held.expiresIn / 60)} minutes (FINGERPOST_AGENT_TTL=${agentTtlSeconds()} s)`);
      }),
    );
  agent
    .command('status')
    .description('list the accounts the agent holds and for how long')
    .action(
      clientAction(async () => {
        const list = await agentStatus();
        if (!list) {
          process.stdout.write('no agent is running\n');
          return;
        }
        for (const a of list) process.stdout.write(`${a.account}  ${a.expiresIn} s left\n`);
        if (!list.length) process.stdout.write('the agent holds nothing\n');
      }),
    );
  agent
    .command('forget')
    .description('make the agent forget EMAIL (or everything)')
    .argument('[email]', 'a signed-in account')
    .action(
      clientAction(async (email: string | undefined) => {
        const { store } = clientContext({});
        const file = email ? accountPaths(store.paths, parseAddress(email).normalized).file : undefined;
        if (!(await agentForget(process.env, file))) note('no agent is running');
      }),
    );
  agent
    .command('stop')
    .description('stop the agent (it forgets everything)')
    .action(
      clientAction(async () => {
        if (!(await agentStop())) note('no agent is running');
      }),
    );
}
