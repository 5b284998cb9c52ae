// Builders for client-helper unit tests: an account file in a temp XDG directory.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ACCOUNT_FORMAT, type AccountFile, type StoreChoice } from '../../../src/client/store/account.ts';
import { clientPaths } from '../../../src/client/store/paths.ts';
import { TokenStore } from '../../../src/client/store/token-store.ts';

export const ISSUER = 'https://auth.example.test/oidc';

export function account(address: string, store: StoreChoice, extra: Partial<AccountFile> = {}): AccountFile {
  return {
    format: ACCOUNT_FORMAT,
    version: 1,
    address,
    issuer: ISSUER,
    metadata: { issuer: ISSUER, token_endpoint: `${ISSUER}/token`, revocation_endpoint: `${ISSUER}/token/revocation` },
    clientId: 'client-1',
    clientAuth: 'none',
    scopes: ['urn:ietf:params:oauth:scope:mail', 'offline_access'],
    resources: ['imap://mail.example.test', 'smtp://mail.example.test'],
    services: [
      {
        protocol: 'imap',
        host: 'mail.example.test',
        port: 993,
        tls: 'implicit',
        auth: ['OAUTHBEARER'],
        resource: 'imap://mail.example.test',
      },
      {
        protocol: 'submission',
        host: 'mail.example.test',
        port: 465,
        tls: 'implicit',
        auth: ['OAUTHBEARER'],
        resource: 'smtp://mail.example.test',
      },
    ],
    sasl: 'OAUTHBEARER',
    store,
    createdAt: 1_700_000_000_000,
    sealed: '',
    ...extra,
  };
}

export interface Home {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  store(env?: NodeJS.ProcessEnv): TokenStore;
  close(): Promise<void>;
}

export async function tempHome(extraEnv: NodeJS.ProcessEnv = {}): Promise<Home> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-client-unit-'));
  // No token agent: each test's passphrases stay in its own processes (test/unit/client/agent.test.ts tests the agent).
  const env = { ...process.env, XDG_CONFIG_HOME: dir, FINGERPOST_PASSPHRASE: '', FINGERPOST_AGENT: 'off', ...extraEnv };
  return {
    dir,
    env,
    store: (e = env) => new TokenStore({ paths: clientPaths(e), env: e, prompt: async () => '' }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
