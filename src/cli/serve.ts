import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { TrustedIssuer } from '../auth/issuers/registry.ts';
import type { Config } from '../config/config.ts';
import { parseDomain } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { ensureFirstStart, type FirstStart, openServices, prepareTls, type RunningServer, startServer, undoFirstStart } from '../main.ts';
import { setEventRelay } from '../store/events.ts';
import { workerEventRelay } from '../store/events-relay.ts';
import { action, configFrom, exitCodeFor, reportError, type StoreOptions, withStoreOptions } from './common.ts';
import { reloadConfig } from './reload.ts';
import { recordServerEnv } from './server-env.ts';
import { type BoundListener, READY, runPrimary } from './serve-workers.ts';

interface ServeOptions extends StoreOptions {
  domain?: string;
  workers?: number;
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

/** What the banner says once every listener is bound: where each listens, TLS, the first-start account. */
export function bannerLines(
  config: Config,
  listeners: readonly BoundListener[],
  tls: { caFile?: string | undefined; acmeHttpPort?: number | undefined },
  issuers: string[],
  first: FirstStart | undefined,
): string[] {
  const lines = ['', `Fingerpost is running (data: ${config.dataDir})`];
  for (const l of listeners) {
    const scheme = l.protocol === 'http' ? 'https' : l.name;
    lines.push(`  ${l.name.padEnd(12)} ${scheme}://${config.server.hostname}:${l.port}${l.protocol === 'http' ? '/' : ''}`);
  }
  const acme = config.tls.acme;
  if (acme.directory)
    lines.push(
      `  TLS: certificates from ${acme.directory} (ACME ${acme.challenge}${acme.challenge === 'http-01' ? ` on port ${tls.acmeHttpPort}` : ''}); ${tls.caFile ? 'the local CA' : 'tls.cert'} answers until they arrive`,
    );
  else if (tls.caFile) lines.push(`  TLS: certificates from the local CA; clients should trust ${tls.caFile}`);
  if (config.http.enabled) {
    lines.push(`  JMAP:          ${config.publicUrl}/.well-known/jmap`);
    if (config.idp.enabled) lines.push(`  OpenID issuer: ${config.publicUrl}/oidc`);
    lines.push(`  Discovery:     ${config.publicUrl}/.well-known/webfinger?resource=acct:USER@DOMAIN`);
  }
  lines.push(...issuers);
  if (first?.created && first.admin) {
    lines.push(
      '',
      `First start: created domain ${first.domain} and its admin account.`,
      `  user:     ${first.admin.address}`,
      `  password: ${first.admin.password}`,
      '  This password is shown once. Change it with: fingerpost admin user passwd ' + first.admin.address,
      `  Try it:   curl --cacert ${tls.caFile ?? 'CA.pem'} https://${config.server.hostname}:${config.http.port}/healthz`,
    );
  }
  return lines;
}

/**
 * Runs until SIGTERM/SIGINT (or, in a worker, the primary going away): then drains — listeners
 * stop accepting, sessions finish the command in flight and say goodbye (limits.drain_timeout) —
 * and resolves. SIGHUP reloads the certificate and the configuration keys that can change live.
 */
function serveUntilStopped(server: RunningServer, config: Config, opts: ServeOptions, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'draining connections');
      server.close().then(resolve, (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (cluster.isWorker) process.once('disconnect', () => stop('primary gone'));
    // SIGHUP (systemctl reload, a certificate renewal hook): without this handler Node would end the process.
    process.on('SIGHUP', () => {
      try {
        server.reloadCertificates();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'TLS certificate reload failed; the previous certificate stays in use');
      }
      try {
        reloadConfig(config, configFrom(opts, undefined, 'server'), server, logger);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'configuration reload failed; the running configuration stays');
      }
    });
  });
}

/** One worker of `serve --workers N`: its own services on the shared store, listeners shared through the primary. */
async function runWorker(opts: ServeOptions): Promise<void> {
  const config = configFrom(opts, undefined, 'server');
  setEventRelay(workerEventRelay());
  const services = await openServices(config);
  let server: RunningServer;
  try {
    server = await startServer(services, await prepareTls(config), { sharedStore: true });
  } catch (err) {
    await services.close();
    throw err;
  }
  const listeners: BoundListener[] = server.listeners.map((l) => ({ name: l.info.name, protocol: l.info.protocol, port: l.info.port }));
  process.send?.({ type: READY, listeners, acmeHttpPort: server.acme?.httpPort });
  await serveUntilStopped(server, config, opts, services.logger);
  services.logger.flush?.();
  // The IPC channel to the primary would keep the process alive: it is done.
  process.exit(process.exitCode ?? 0);
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new FingerpostError('invalid_argument', `--workers ${value}: expected a whole number from 1 to 64`, {
      hint: 'give the number of worker processes, e.g. --workers 2 (1: one process)',
    });
  return n;
}

/** `fingerpost serve`: first-start setup, every listener (in N worker processes with --workers), graceful drain on SIGTERM/SIGINT, reload on SIGHUP. */
export function registerServe(program: Command): void {
  withStoreOptions(program.command('serve'))
    .description('run the server (first start creates the data directory, a local CA and an admin account)')
    .option('--domain <name>', 'the first domain, on first start only', 'localhost')
    .option('--workers <n>', 'worker processes sharing the listeners and the store (docs/deployment.md)', parseWorkers, 1)
    .action(
      action(async (opts: ServeOptions) => {
        if (cluster.isWorker)
          return runWorker(opts).catch((err) => {
            // The IPC channel would keep a failed worker alive: report and leave.
            reportError(err);
            process.exit(exitCodeFor(err));
          });
        const config = configFrom(opts, undefined, 'server');
        const domain = parseDomain(opts.domain ?? 'localhost');
        const workers = opts.workers ?? 1;
        if (workers > 1 && config.tls.acme.directory)
          throw new FingerpostError('config_invalid', '--workers above 1 does not work with tls.acme.directory yet', {
            hint: 'run one process (--workers 1) when the certificates come from ACME, or give tls.cert and tls.key',
          });
        const services = await openServices(config);
        let first: FirstStart | undefined;
        let tls: Awaited<ReturnType<typeof prepareTls>>;
        if (workers > 1) {
          const issuers = issuerLines(services.auth.issuers.list(), config.auth.oauth);
          try {
            tls = await prepareTls(config);
            first = await ensureFirstStart(services, domain);
          } finally {
            await services.close();
          }
          recordServerEnv(config.dataDir, process.env);
          const undo = async () => {
            const again = await openServices(config);
            await undoFirstStart(again, first!).finally(() => again.close());
          };
          await runPrimary({
            workers,
            logger: services.logger,
            onReady: (listeners, acmeHttpPort) =>
              banner([
                ...bannerLines(config, listeners, { caFile: tls.caFile, acmeHttpPort }, issuers, first),
                `  Workers:       ${workers} processes`,
                '',
              ]),
            onFailedStart: () => undo().catch(() => {}),
          });
          return;
        }
        let server: RunningServer;
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
        const listeners = server.listeners.map((l) => ({ name: l.info.name, protocol: l.info.protocol, port: l.info.port }));
        const issuers = issuerLines(services.auth.issuers.list(), config.auth.oauth);
        // Admin commands run later from another shell read the configuration this server runs with.
        recordServerEnv(config.dataDir, process.env);
        banner([...bannerLines(config, listeners, { caFile: tls.caFile, acmeHttpPort: server.acme?.httpPort }, issuers, first), '']);
        await serveUntilStopped(server, config, opts, services.logger);
        services.logger.flush?.();
      }),
    );
}
