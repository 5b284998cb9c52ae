import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAddress } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import { type Discovery, discover } from '../discovery/client/discover.ts';
import { action } from './common.ts';

/** `--connect-to HOST=ADDR:PORT` values as the client's override map. */
export function parseConnectTo(values: readonly string[]): Map<string, { host: string; port: number }> {
  const map = new Map<string, { host: string; port: number }>();
  for (const v of values) {
    const m = /^([^=\s]+)=(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(v);
    if (!m || Number(m[3]) > 65535) {
      throw new FingerpostError('invalid_argument', `--connect-to ${v}: expected HOST=ADDRESS:PORT`, {
        hint: 'for example --connect-to example.test=127.0.0.1:8443',
      });
    }
    map.set(m[1]!.toLowerCase(), { host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) });
  }
  return map;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function print(d: Discovery): void {
  const out: string[] = [`Discovery for ${d.address}`];
  if (d.issuer) {
    out.push(
      `  issuer          ${d.issuer.issuer}  (from ${d.issuer.source}${d.issuer.metadataUrl ? `; metadata ${d.issuer.metadataUrl}` : '; metadata not confirmed'})`,
    );
  } else out.push('  issuer          none found (OAuth sign-in not discoverable)');
  if (d.scopes) out.push(`  scopes          ${d.scopes.join(' ')}`);
  if (d.resources) out.push(`  resources       ${d.resources.join(' ')}`);
  if (d.services.length) {
    out.push(`  services        (from ${d.servicesFrom})`);
    for (const s of d.services) {
      const where = s.url ?? `${s.host}:${s.port}  ${s.tls === 'implicit' ? 'implicit TLS' : 'STARTTLS'}`;
      out.push(`    ${s.protocol.padEnd(12)}${where}${s.auth.length ? `  ${s.auth.join(' ')}` : ''}`);
    }
  } else out.push('  services        none found');
  if (d.certificateHost) out.push(`  certificate     ${d.certificateHost}  (check this name before sending a password)`);
  if (d.password !== undefined)
    out.push(`  passwords       ${d.password ? 'accepted (app passwords too)' : 'not accepted: sign in with OAuth'}`);
  if (d.oneCredential !== undefined) out.push(`  one credential  ${d.oneCredential ? 'yes, for every service' : 'no'}`);
  if (d.appPasswordUrl) out.push(`  app passwords   ${d.appPasswordUrl}`);
  if (d.jmapSession) out.push(`  jmap session    ${d.jmapSession}`);
  if (d.freeBusyUrl) out.push(`  free/busy       ${d.freeBusyUrl}`);
  out.push('Steps');
  for (const s of d.steps) out.push(`  ${s.outcome.padEnd(8)} ${s.source.padEnd(16)} ${s.target}\n           ${s.detail}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** `fingerpost discover EMAIL`: the client-side chain, printed with where each fact came from. */
export function registerDiscover(program: Command): void {
  program
    .command('discover')
    .description('find the services and identity provider of an email address, as a mail client would')
    .argument('<email>', 'the address, e.g. alice@localhost')
    .option('--json', 'print the result as JSON')
    .option('--all', 'run every fallback (PACC, autoconfig, SRV) even when an earlier source answered')
    .option('--ca <file>', 'also trust this CA certificate (PEM), e.g. data/tls/ca.pem', collect, [])
    .option('--connect-to <host=addr:port>', 'connect to ADDR:PORT for HOST (certificate still checked for HOST)', collect, [])
    .option('--resolver <addr[:port]>', 'DNS server for SRV/TXT/address lookups', collect, [])
    .option('--timeout <seconds>', 'time limit per request', '10')
    .action(
      action(
        async (
          email: string,
          opts: { json?: boolean; all?: boolean; ca: string[]; connectTo: string[]; resolver: string[]; timeout: string },
        ) => {
          const address = parseAddress(email);
          const ca = opts.ca.map((f) => {
            try {
              return readFileSync(f, 'utf8');
            } catch (err) {
              throw new FingerpostError('invalid_argument', `--ca ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
            }
          });
          const result = await discover(`${address.local}@${address.domain}`, {
            ca,
            connectTo: parseConnectTo(opts.connectTo),
            resolver: opts.resolver,
            all: opts.all === true,
            timeoutMs: Math.max(1, Number(opts.timeout) || 10) * 1000,
          });
          if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          else print(result);
          if (result.services.length === 0 && !result.issuer) process.exitCode = 1;
        },
      ),
    );
}
