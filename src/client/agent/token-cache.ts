import { statSync } from 'node:fs';
import { accountPaths, clientPaths } from '../store/paths.ts';
import { agentRequest } from './client.ts';
import { agentDisabled, agentSocketPath } from './socket-path.ts';

/**
 * The access tokens `fingerpost token` printed, kept by the token agent (server.ts `token` and
 * `token-put`) so the next call for the same account and service is one socket round trip with
 * nothing else loaded. Each is tied to the account file's version: any change to the file
 * (a refresh saved, a new sign-in, a logout) makes the agent's copy miss. Loads only node:fs,
 * node:net and the path helpers.
 */

/** The account file's version: inode, size and modification time; undefined when it is gone. */
function stamp(file: string): string | undefined {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** The account file of a normalized address. */
function accountFile(address: string, env: NodeJS.ProcessEnv): string {
  return accountPaths(clientPaths(env), address).file;
}

/** The token the agent holds for this account and service, still fresh by the default margin. */
export async function tokenFromAgent(
  address: string,
  service: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (agentDisabled(env)) return undefined;
  const file = accountFile(address, env);
  const version = stamp(file);
  if (!version) return undefined;
  const r = await agentRequest(agentSocketPath(env), { op: 'token', account: file, service: service ?? '', stamp: version }, 2_000);
  return typeof r?.token === 'string' && r.token ? r.token : undefined;
}

/** Offers a token just printed to the agent; it keeps it only for an account it holds unlocked. */
export async function offerTokenToAgent(
  address: string,
  service: string | undefined,
  token: { token: string; expiresAt: number; obtainedAt?: number },
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (agentDisabled(env)) return;
  const file = accountFile(address, env);
  const version = stamp(file);
  if (!version) return;
  await agentRequest(
    agentSocketPath(env),
    {
      op: 'token-put',
      account: file,
      service: service ?? '',
      stamp: version,
      token: token.token,
      expiresAt: token.expiresAt,
      obtainedAt: token.obtainedAt ?? Date.now(),
    },
    2_000,
  );
}
