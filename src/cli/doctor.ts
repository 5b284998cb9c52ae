import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FingerpostError } from '../core/errors.ts';
import { doctor } from '../discovery/doctor.ts';
import { action, type StoreOptions, withStoreOptions } from './common.ts';
import { domainFacts } from './dns.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `fingerpost doctor DOMAIN`: checks DNS and the HTTPS discovery endpoints from outside. */
export function registerDoctor(program: Command): void {
  withStoreOptions(
    program.command('doctor').description('check the DNS records and HTTPS discovery endpoints of a served domain, and say what to fix'),
  )
    .argument('<domain>')
    .option('--resolver <addr[:port]>', 'DNS server to ask (default: the system resolver)', collect, [])
    .option('--ca <file>', 'also trust this CA certificate (PEM)', collect, [])
    .option('--https-port <port>', 'port the HTTPS names answer on from outside (default 443; http.port for localhost and .test domains)')
    .option('--json', 'print the findings as JSON')
    .action(
      action(async (name: string, opts: StoreOptions & { resolver: string[]; ca: string[]; httpsPort?: string; json?: boolean }) => {
        const port = opts.httpsPort === undefined ? undefined : Number(opts.httpsPort);
        if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
          throw new FingerpostError('invalid_argument', `--https-port ${opts.httpsPort}: expected a port`);
        const ca = opts.ca.map((f) => {
          try {
            return readFileSync(f, 'utf8');
          } catch (err) {
            throw new FingerpostError('invalid_argument', `--ca ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        });
        const { services, domain, dkim } = await domainFacts(opts, name);
        let findings: Awaited<ReturnType<typeof doctor>>;
        try {
          findings = await doctor(services.config, domain, dkim, { resolver: opts.resolver, ca, httpsPort: port });
        } finally {
          await services.close();
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
        else {
          const lines = findings.map(
            (f) =>
              `${f.level === 'ok' ? 'ok  ' : f.level === 'warn' ? 'warn' : 'FAIL'}  ${f.check}: ${f.detail}${f.fix ? `\n      fix: ${f.fix}` : ''}`,
          );
          const failed = findings.filter((f) => f.level === 'fail').length;
          lines.push(failed ? `${failed} problem(s) to fix for ${domain}` : `${domain} looks right`);
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        if (findings.some((f) => f.level === 'fail')) process.exitCode = 1;
      }),
    );
}
