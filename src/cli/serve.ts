import type { Command } from 'commander';
import type { TrustedIssuer } from '../auth/issuers/registry.ts';
import { parseDomain } from '../core/address.ts';
import { ensureFirstStart, type FirstStart, openServices, prepareTls, type RunningServer, startServer, undoFirstStart } from '../main.ts';
import { action, configFrom, type StoreOptions, withStoreOptions } from './common.ts';
import { recordServerEnv } from './server-env.ts';

interface ServeOptions extends StoreOptions {
  domain?: string;
}

function banner(lines: string[]): void {
  process.stderr.write(`${lines.join('\n')}\n`);
}

/**
 * The banner's account of whose tokens are accepted: the embedded provider and each trusted
 * external issuer (`[[auth.issuers]]`) with the domains it is limited to, or that none is.
 */
export function issuerLines(issuers: readonly Pick<TrustedIssuer, 'issuer' | 'source' | 'options'>[], oauth: boolean): string[] {
  if (!oauth) return ['  Tokens:        not accepted (auth.oauth = false)'];
  if (!issuers.length) return ['  Tokens:        no issuer is trusted; OAuth sign-in is off'];
  return issuers.map((i, n) => {
    const label = n === 0 ? '  Trusted token issuers: ' : '                         ';
    const what = i.source === 'in-process' ? ' (embedded)' : '';
    const domains = i.options.domains.length ? ` for ${i.options.domains.join(', ')}` : '';
    return `${label}${i.issuer}${what}${domains}`;
  });
}

/** `fingerpost serve`: first-start setup, every listener, graceful drain on SIGTERM/SIGINT, certificate reload on SIGHUP. */
export function registerServe(program: Command): void {
  withStoreOptions(program.command('serve'))
    .description('run the server (first start creates the data directory, a local CA and an admin account)')
    .option('--domain <name>', 'the first domain, on first start only', 'localhost')
    .action(
      action(async (opts: ServeOptions) => {
        const config = configFrom(opts, undefined, 'server');
        const domain = parseDomain(opts.domain ?? 'localhost');
        const services = await openServices(config);
        let server: RunningServer;
        let first: FirstStart | undefined;
        let tls: Awaited<ReturnType<typeof prepareTls>>;
        try {
          tls = await prepareTls(config);
          first = await ensureFirstStart(services, domain);
          server = await startServer(services, tls);
        } catch (err) {
          // Nothing half-written: the next start creates the admin account again and prints it.
          if (first) await undoFirstStart(services, first).catch(() => {});
          await services.close();
          throw err;
        }
        const lines = ['', `Fingerpost is running (data: ${config.dataDir})`];
        for (const l of server.listeners) {
          const scheme = l.info.protocol === 'http' ? 'https' : l.info.name;
          lines.push(
            `  ${l.info.name.padEnd(12)} ${scheme}://${config.server.hostname}:${l.info.port}${l.info.protocol === 'http' ? '/' : ''}`,
          );
        }
        const acme = config.tls.acme;
        if (acme.directory)
          lines.push(
            `  TLS: certificates from ${acme.directory} (ACME ${acme.challenge}${acme.challenge === 'http-01' ? ` on port ${server.acme?.httpPort}` : ''}); ${tls.caFile ? 'the local CA' : 'tls.cert'} answers until they arrive`,
          );
        else if (tls.caFile) lines.push(`  TLS: certificates from the local CA; clients should trust ${tls.caFile}`);
        if (config.http.enabled) {
          lines.push(`  JMAP:          ${config.publicUrl}/.well-known/jmap`);
          if (config.idp.enabled) lines.push(`  OpenID issuer: ${config.publicUrl}/oidc`);
          lines.push(`  Discovery:     ${config.publicUrl}/.well-known/webfinger?resource=acct:USER@DOMAIN`);
        }
        lines.push(...issuerLines(services.auth.issuers.list(), config.auth.oauth));
        if (first.created && first.admin) {
          lines.push(
            '',
            `First start: created domain ${first.domain} and its admin account.`,
            `  user:     ${first.admin.address}`,
            `  password: ${first.admin.password}`,
            '  This password is shown once. Change it with: fingerpost admin user passwd ' + first.admin.address,
            `  Try it:   curl --cacert ${tls.caFile ?? 'CA.pem'} https://${config.server.hostname}:${config.http.port}/healthz`,
          );
        }
        // Admin commands run later from another shell read the configuration this server runs with.
        recordServerEnv(config.dataDir, process.env);
        banner([...lines, '']);
        await new Promise<void>((resolve) => {
          let stopping = false;
          const stop = (signal: string) => {
            if (stopping) return;
            stopping = true;
            services.logger.info({ signal }, 'draining connections');
            server.close().then(resolve, (err) => {
              services.logger.error({ err }, 'shutdown failed');
              process.exitCode = 1;
              resolve();
            });
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
          // SIGHUP (systemctl reload, a certificate renewal hook) reloads the certificate; without
          // this handler Node would end the process. Other configuration changes need a restart.
          process.on('SIGHUP', () => {
            try {
              server.reloadCertificates();
            } catch (err) {
              services.logger.error(
                { err: (err as Error).message },
                'TLS certificate reload failed; the previous certificate stays in use',
              );
            }
          });
        });
        services.logger.flush?.();
      }),
    );
}
