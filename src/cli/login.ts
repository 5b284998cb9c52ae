import path from 'node:path';
import readline from 'node:readline';
import { type Command, Option } from 'commander';
import { parseAddress } from '../core/address.ts';
import { systemBrowser } from '../client/browser.ts';
import { clientContext } from '../client/context.ts';
import { localProblem } from '../client/errors.ts';
import { FLOWS, type FlowName, login } from '../client/login.ts';
import { logout } from '../client/logout.ts';
import { PRESET_NAMES } from '../client/oauth/presets.ts';
import { clientAction, note } from '../client/report.ts';
import type { StoreKind } from '../client/store/backends.ts';
import { parseConnectTo } from './discover.ts';

interface LoginOptions {
  flow?: FlowName;
  port?: string;
  issuer?: string;
  provider?: string;
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  register?: boolean;
  store?: StoreKind;
  encryptCommand?: string;
  decryptCommand?: string;
  passphraseCommand?: string;
  scryptWorkFactor?: string;
  browser?: string | boolean;
  ca?: string;
  connectTo: string[];
  resolver: string[];
  timeout: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw localProblem(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Reads one line from stdin (a pasted redirect address), prompting on stderr. */
function readLine(prompt: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  return new Promise((resolve) => {
    let done = false;
    rl.question(prompt, (answer) => {
      done = true;
      rl.close();
      resolve(answer);
    });
    rl.once('close', () => {
      if (!done) resolve('');
    });
  });
}

/**
 * `fingerpost login EMAIL`: sign in once from the address alone; and its
 * counterpart `fingerpost logout EMAIL` (revoke at the issuer, delete the stored tokens).
 */
export function registerLogin(program: Command): void {
  program
    .command('logout')
    .description('revoke the sign-in of EMAIL at its issuer (RFC 7009) and delete its stored tokens')
    .argument('<email>', 'a signed-in account')
    .option('--force', 'delete the stored tokens even if the issuer cannot be reached')
    .option('--ca <file>', 'also trust the CA certificates in this PEM file')
    .action(
      clientAction(async (email: string, opts: { force?: boolean; ca?: string }) => {
        const { store } = clientContext(opts);
        await logout(store, parseAddress(email).normalized, { force: opts.force, note });
      }),
    );
  program
    .command('login')
    .description('sign in EMAIL with OAuth (discovery, registration, device/loopback/paste flow) and store its tokens')
    .argument('<email>', 'the address, e.g. alice@localhost')
    .addOption(new Option('--flow <flow>', 'how to sign in (default: loopback with a browser, else device, else paste)').choices(FLOWS))
    .option('--port <port>', 'loopback/paste redirect port on 127.0.0.1 (e.g. for ssh -L); default random')
    .option('--issuer <url>', 'use this OAuth issuer instead of discovering one')
    .addOption(new Option('--provider <name>', 'use a provider preset (your own --client-id is required)').choices(PRESET_NAMES))
    .option('--tenant <tenant>', 'Microsoft tenant (default common, consumers for outlook.com addresses)')
    .option('--client-id <id>', 'a client id you registered with the issuer (else dynamic registration)')
    .option('--client-secret <secret>', 'the client secret, for providers that demand one (Google)')
    .option('--register', 'register a new client even if one is remembered for the issuer')
    .addOption(
      new Option('--store <kind>', 'where to keep the tokens (default: commands, else keyring, else age)').choices([
        'age',
        'command',
        'keyring',
        'file',
      ]),
    )
    .option('--encrypt-command <cmd>', 'seal the tokens with this command (stdin → stdout), e.g. "gpg --encrypt -r KEY"')
    .option('--decrypt-command <cmd>', 'open them with this command (stdin → stdout), e.g. "gpg --decrypt --quiet"')
    .option('--passphrase-command <cmd>', 'age store: print the passphrase with this command instead of asking')
    .option('--scrypt-work-factor <n>', 'age store: scrypt work factor log2(N) (default 18, as age)')
    .option('--browser <cmd>', 'open the sign-in page with this command')
    .option('--no-browser', 'do not open a browser; print the address instead')
    .option('--ca <file>', 'also trust the CA certificates in this PEM file (remembered for token, check and setup)')
    .option(
      '--connect-to <host=addr:port>',
      'HTTPS (discovery, OAuth, JMAP): connect to ADDR:PORT for HOST (certificate still checked for HOST); remembered',
      collect,
      [],
    )
    .option('--resolver <addr[:port]>', 'discovery: DNS server for SRV/TXT/address lookups', collect, [])
    .option('--timeout <seconds>', 'give up waiting for the sign-in after this long', '600')
    .action(
      clientAction(async (email: string, opts: LoginOptions) => {
        const address = parseAddress(email).normalized;
        const { store } = clientContext(opts);
        const timeout = intOption('--timeout', opts.timeout, 1, 86_400)!;
        await login(
          {
            address,
            flow: opts.flow,
            port: intOption('--port', opts.port, 1, 65535),
            issuer: opts.issuer,
            provider: opts.provider,
            tenant: opts.tenant,
            clientId: opts.clientId,
            clientSecret: opts.clientSecret,
            register: opts.register,
            store: {
              kind: opts.store,
              encryptCommand: opts.encryptCommand,
              decryptCommand: opts.decryptCommand,
              passphraseCommand: opts.passphraseCommand,
              workFactor: intOption('--scrypt-work-factor', opts.scryptWorkFactor, 10, 20),
            },
            discovery: { connectTo: parseConnectTo(opts.connectTo), resolver: opts.resolver },
            ...(opts.ca ? { ca: path.resolve(opts.ca) } : {}),
            timeoutMs: timeout * 1000,
          },
          store,
          {
            note,
            readLine,
            openBrowser: opts.browser === false ? undefined : systemBrowser(typeof opts.browser === 'string' ? opts.browser : undefined),
          },
        );
      }),
    );
}
