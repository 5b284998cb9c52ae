import { tokenFromAgent } from '../client/agent/token-cache.ts';

const SERVICE = /^[a-z]{1,16}$/;
const ADDRESS = /^[a-z0-9._+-]{1,64}@[a-z0-9.-]{1,253}$/;

/**
 * `fingerpost token EMAIL [--service NAME] [--ca FILE]` answered by the token agent alone
 * (client/agent/token-cache.ts): for the plain form only, with an address already in normal
 * form, so nothing but node:net and the path helpers loads. True when it printed the token;
 * false sends the call down the full path (cli/token-run.ts), which answers everything else.
 */
export async function tokenViaAgent(argv: readonly string[]): Promise<boolean> {
  let email: string | undefined;
  let service: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--service' && service === undefined && i + 1 < argv.length) service = argv[++i];
    else if (a.startsWith('--service=') && service === undefined) service = a.slice('--service='.length);
    // The CA only matters for a refresh, which this path never makes.
    else if (a === '--ca' && i + 1 < argv.length) i++;
    else if (a.startsWith('--ca=')) continue;
    else if (!a.startsWith('-') && email === undefined) email = a;
    else return false;
  }
  if (!email || !ADDRESS.test(email) || (service !== undefined && !SERVICE.test(service))) return false;
  const token = await tokenFromAgent(email, service);
  if (!token) return false;
  process.stdout.write(`${token}\n`);
  return true;
}
