import { parseArgs } from 'node:util';
import { parseAddress } from '../core/address.ts';
import { clientContext } from '../client/context.ts';
import { localProblem } from '../client/errors.ts';
import { formatToken, TOKEN_FORMATS, type TokenFormat } from '../client/format.ts';
import { clientAction } from '../client/report.ts';
import { SERVICE_NAMES, type ServiceName } from '../client/store/account.ts';
import { accessToken } from '../client/tokens.ts';

/** The options of `fingerpost token`, parsed. */
export interface TokenOptions {
  service?: ServiceName;
  format: TokenFormat;
  minValid?: string;
  keepalive?: boolean;
  warnDays: string;
  ca?: string;
}

/** One option of `fingerpost token`: the commander definition (cli/token.ts) and the fast path below read the same list. */
export interface TokenOptionSpec {
  readonly key: keyof TokenOptions;
  readonly flag: string;
  readonly value?: string;
  readonly help: string;
  readonly choices?: readonly string[];
  readonly default?: string;
}

export const TOKEN_OPTIONS: readonly TokenOptionSpec[] = [
  { key: 'service', flag: 'service', value: 'name', help: 'the service the token is for (its resource indicator)', choices: SERVICE_NAMES },
  { key: 'format', flag: 'format', value: 'format', help: 'what to print', choices: TOKEN_FORMATS, default: 'token' },
  {
    key: 'minValid',
    flag: 'min-valid',
    value: 'seconds',
    help: 'refresh when fewer seconds than this are left (default: min(300, half the lifetime))',
  },
  { key: 'keepalive', flag: 'keepalive', help: 'refresh now (for cron) so the refresh token stays alive; print nothing on success' },
  {
    key: 'warnDays',
    flag: 'warn-days',
    value: 'days',
    help: 'with --keepalive: warn when the sign-in expires within this many days',
    default: '14',
  },
  { key: 'ca', flag: 'ca', value: 'file', help: 'also trust the CA certificates in this PEM file' },
];

/**
 * The body of `fingerpost token [EMAIL]`: prints only the access token on stdout, refreshing
 * ahead of expiry (RFC 6749 §6); `--keepalive` refreshes for cron and warns before a refresh
 * token expires.
 */
export const runToken = clientAction(async (email: string | undefined, options: TokenOptions) => {
  const { store } = clientContext(options);
  if (options.keepalive) {
    const warnDays = Number(options.warnDays);
    if (!(options.warnDays.trim() !== '' && Number.isFinite(warnDays) && warnDays >= 0))
      throw localProblem('--warn-days must be a number of days');
    const addresses = email ? [parseAddress(email).normalized] : await store.list();
    if (!addresses.length) throw localProblem('no accounts are signed in', 'fingerpost login EMAIL');
    const { keepalive } = await import('../client/keepalive.ts');
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
  process.stdout.write(`${await formatToken(issued, options.format, options.service)}\n`);
  // The next plain call is then answered by the agent (cli/token-agent.ts) while this one is fresh.
  if (options.format === 'token' && minValid === undefined) {
    const { offerTokenToAgent } = await import('../client/agent/token-cache.ts');
    await offerTokenToAgent(issued.account.address, options.service, issued.token);
  }
});

/**
 * `fingerpost token` without the command-line library: mail clients run it on every connection,
 * so a well-formed call is parsed here (node:util parseArgs over `TOKEN_OPTIONS`) and run at once.
 * False for anything else (help, an unknown option, a bad choice): the full parser then answers.
 */
export async function tokenFastPath(argv: readonly string[]): Promise<boolean> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(TOKEN_OPTIONS.map((o) => [o.flag, { type: o.value ? 'string' : 'boolean' }] as const)),
    });
  } catch {
    return false;
  }
  if (parsed.positionals.length > 1) return false;
  const options: Record<string, unknown> = {};
  for (const o of TOKEN_OPTIONS) {
    const v = parsed.values[o.flag] ?? o.default;
    if (v === undefined) continue;
    if (typeof v !== (o.value ? 'string' : 'boolean')) return false;
    if (o.choices && !o.choices.includes(v as string)) return false;
    options[o.key] = v;
  }
  await runToken(parsed.positionals[0], options as unknown as TokenOptions);
  return true;
}
