import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import * as acme from 'acme-client';
import type { WaitClock } from '../../core/clock.ts';
import { FingerpostError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { AcmeChallenges } from './challenges.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A DNS host name an ACME CA can issue for (RFC 1123 §2.1 labels, at most 253 octets). */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** What the ACME certificate manager needs (config keys `tls.acme.*`, docs/configuration.md). */
export interface AcmeOptions {
  readonly directory: string;
  readonly email: string;
  readonly challenge: 'http-01' | 'tls-alpn-01';
  /** PEM CA certificates trusted for the directory's HTTPS besides the system's; empty: none. */
  readonly caFile: string;
  readonly renewBeforeMs: number;
  readonly dataDir: string;
  readonly minVersion: tls.SecureVersion;
  /** Every name that should have a certificate now (server.hostname, served domains, discovery names). */
  readonly names: () => Promise<string[]>;
  /** True when a name asked for by SNI is one of ours (a domain added since the last check). */
  readonly covered: (name: string) => Promise<boolean>;
  /** Where the CA's validation connects: said in errors (`tls.acme.http_port` or `http.port`). */
  readonly validationPort: { readonly key: string; readonly port: number };
  readonly challenges: AcmeChallenges;
  readonly logger: Logger;
  readonly clock: WaitClock;
  /** Checks for due renewals at least this often. */
  readonly checkEveryMs?: number;
  /** Waits this long before trying a name again after it failed. */
  readonly retryAfterMs?: number;
  /** How often the client asks the CA whether a challenge or order is done (RFC 8555 §7.5.1). */
  readonly pollMs?: number;
}

interface Held {
  readonly context: tls.SecureContext;
  readonly notAfter: number;
  readonly renewAt: number;
  readonly serial: string;
}

/** Whether a name may be ordered at all: a public-looking DNS name, not an address or localhost. */
export function acmeEligible(name: string): boolean {
  const n = name.toLowerCase();
  return !isIP(n) && HOST_NAME.test(n) && n !== 'localhost' && !n.endsWith('.localhost');
}

function tlsProblem(code: string | undefined): boolean {
  return !!code && /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|DEPTH_ZERO/.test(code);
}

/**
 * Certificates from an ACME CA (RFC 8555), one per name, for server.hostname and every served
 * domain with its discovery names: ordered with the http-01 (RFC 8555 §8.3) or tls-alpn-01
 * (RFC 8737) challenge, kept in DATA/tls/acme/ (keys mode 0600), served by SNI the moment they
 * arrive (no restart) and ordered again before they expire. One order runs at a time.
 */
export class AcmeCertificates {
  readonly #o: AcmeOptions;
  readonly #client: acme.Client;
  readonly #dir: string;
  readonly #held = new Map<string, Held>();
  readonly #failed = new Map<string, { at: number; message: string }>();
  readonly #pending = new Map<string, Promise<void>>();
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;
  #checks = 0;
  #checkWaiters: { n: number; resolve: () => void }[] = [];

  private constructor(options: AcmeOptions, client: acme.Client, dir: string) {
    this.#o = options;
    this.#client = client;
    this.#dir = dir;
  }

  /**
   * Reads (or makes) the account key, loads the certificates kept from earlier runs and checks that
   * the directory answers as an ACME directory (RFC 8555 §7.1.1). A directory that is not one, or
   * whose HTTPS certificate is not trusted, stops start-up naming the config key; one that cannot
   * be reached now is logged and tried again later.
   */
  static async open(options: AcmeOptions): Promise<AcmeCertificates> {
    let extraCa: string | undefined;
    if (options.caFile) {
      try {
        extraCa = readFileSync(options.caFile, 'utf8');
        if (!/-----BEGIN CERTIFICATE-----/.test(extraCa)) throw new Error('no PEM certificate in it');
      } catch (err) {
        throw new FingerpostError(
          'config_invalid',
          `config key tls.acme.ca_file: cannot use ${options.caFile}: ${(err as Error).message}`,
          {
            hint: 'set tls.acme.ca_file to a readable PEM file with the CA certificate of the ACME directory, or to "" for the system CAs',
          },
        );
      }
    }
    // No kept-alive sockets: they would hold the process open after shutdown.
    const agent = new https.Agent({ ca: extraCa ? [...tls.rootCertificates, extraCa] : undefined, keepAlive: false });
    // acme-client sends every request through its one axios instance: the directory's CA goes there.
    acme.axios.defaults.httpsAgent = agent;
    await checkDirectory(options.directory, agent, options.logger);

    const base = path.join(options.dataDir, 'tls', 'acme');
    mkdirSync(base, { recursive: true, mode: 0o700 });
    const accountFile = path.join(base, 'account.key');
    let accountKey: Buffer;
    if (existsSync(accountFile)) accountKey = readFileSync(accountFile);
    else {
      accountKey = await acme.crypto.createPrivateEcdsaKey('P-256');
      writeFileSync(`${accountFile}.tmp`, accountKey, { mode: 0o600 });
      renameSync(`${accountFile}.tmp`, accountFile);
    }
    // Certificates from one CA are kept apart from another's (staging and production, say).
    const u = new URL(options.directory);
    const dir = path.join(base, `${u.hostname}${u.port ? `_${u.port}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '_'));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pollMs = options.pollMs ?? 3000;
    const client = new acme.Client({
      directoryUrl: options.directory,
      accountKey,
      backoffAttempts: 10,
      backoffMin: pollMs,
      backoffMax: Math.max(pollMs, 30_000),
    });
    const manager = new AcmeCertificates(options, client, dir);
    manager.#loadStored();
    return manager;
  }

  #loadStored(): void {
    for (const file of readdirSync(this.#dir)) {
      if (!file.endsWith('.pem')) continue;
      const name = file.slice(0, -4);
      try {
        this.#hold(name, readFileSync(path.join(this.#dir, file), 'utf8'), readFileSync(path.join(this.#dir, `${name}.key`)));
      } catch (err) {
        this.#o.logger.warn({ name, err: (err as Error).message }, 'a kept ACME certificate does not load; it is ordered again');
      }
    }
  }

  /** Keeps a certificate; `obtainedAt` (just ordered) keeps it for a third of its life at least, whatever the clock says. */
  #hold(name: string, chain: string, key: Buffer, obtainedAt?: number): Held {
    const leaf = new X509Certificate(chain);
    if (leaf.checkHost(name) === undefined) throw new Error(`the certificate does not cover ${name}`);
    const notBefore = new Date(leaf.validFrom).getTime();
    const notAfter = new Date(leaf.validTo).getTime();
    const margin = Math.min(this.#o.renewBeforeMs, (notAfter - notBefore) / 3);
    const renewAt = Math.max(notAfter - margin, obtainedAt === undefined ? 0 : obtainedAt + (notAfter - notBefore) / 3);
    const held = {
      context: tls.createSecureContext({ cert: chain, key, minVersion: this.#o.minVersion }),
      notAfter,
      renewAt,
      serial: leaf.serialNumber,
    };
    this.#held.set(name, held);
    return held;
  }

  /**
   * The certificate for an SNI name (RFC 6066 §3), if one is held and not expired. A name of ours
   * without one is ordered in the background (unless it failed recently); until it arrives the
   * caller's fallback (the local CA or tls.cert) answers.
   */
  sni(servername: string): tls.SecureContext | undefined {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const held = this.#held.get(name);
    const now = this.#o.clock.now();
    if (held && held.notAfter > now) {
      if (held.renewAt <= now) this.#background(name);
      return held.context;
    }
    if (acmeEligible(name)) this.#background(name);
    return undefined;
  }

  #background(name: string): void {
    if (this.#pending.has(name) || this.#stopped || !this.#mayTry(name)) return;
    this.#o.covered(name).then(
      (ok) => ok && void this.ensure(name).catch(() => {}),
      () => {},
    );
  }

  #mayTry(name: string): boolean {
    const failed = this.#failed.get(name);
    return !failed || failed.at + (this.#o.retryAfterMs ?? HOUR) <= this.#o.clock.now();
  }

  /** What is held: each name's certificate serial and expiry, and the last failure per name. */
  status(): { name: string; serial?: string; notAfter?: string; error?: string }[] {
    const names = new Set([...this.#held.keys(), ...this.#failed.keys()]);
    return [...names].sort().map((name) => {
      const h = this.#held.get(name);
      const f = this.#failed.get(name);
      return {
        name,
        ...(h ? { serial: h.serial, notAfter: new Date(h.notAfter).toISOString() } : {}),
        ...(f ? { error: f.message } : {}),
      };
    });
  }

  /** Orders a certificate for `name` unless a current one is held; one order at a time. */
  ensure(name: string): Promise<void> {
    const existing = this.#pending.get(name);
    if (existing) return existing;
    const run = this.#queue.then(async () => {
      if (this.#stopped) return;
      const held = this.#held.get(name);
      if (held && held.renewAt > this.#o.clock.now()) return;
      await this.#order(name, held !== undefined);
    });
    const tracked = run.finally(() => this.#pending.delete(name));
    this.#pending.set(name, tracked);
    this.#queue = tracked.catch(() => {});
    return tracked;
  }

  async #order(name: string, renewal: boolean): Promise<void> {
    const { challenges, challenge: type, logger } = this.#o;
    logger.info({ name, challenge: type, renewal }, renewal ? 'renewing the ACME certificate' : 'ordering an ACME certificate');
    try {
      const [key, csr] = await acme.crypto.createCsr(
        { commonName: name, altNames: [name] },
        await acme.crypto.createPrivateEcdsaKey('P-256'),
      );
      const chain = await this.#client.auto({
        csr,
        ...(this.#o.email ? { email: this.#o.email } : {}),
        termsOfServiceAgreed: true,
        // The CA's own validation says precisely what failed; a self-check from inside would
        // fail behind NAT or a proxy where the CA's succeeds.
        skipChallengeVerification: true,
        challengePriority: [type],
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          if (challenge.type !== type) throw new Error(`the CA offers no ${type} challenge for ${authz.identifier.value}`);
          if (type === 'http-01') challenges.addHttp((challenge as { token: string }).token, keyAuthorization);
          else {
            const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
            challenges.addAlpn(authz.identifier.value, alpnCert, alpnKey);
          }
        },
        challengeRemoveFn: async (authz, challenge) => {
          if (challenge.type === 'http-01') challenges.removeHttp((challenge as { token: string }).token);
          else challenges.removeAlpn(authz.identifier.value);
        },
      });
      const keyFile = path.join(this.#dir, `${name}.key`);
      const certFile = path.join(this.#dir, `${name}.pem`);
      const held = this.#hold(name, chain, key, this.#o.clock.now());
      writeFileSync(`${keyFile}.tmp`, key, { mode: 0o600 });
      writeFileSync(`${certFile}.tmp`, chain, { mode: 0o644 });
      renameSync(`${keyFile}.tmp`, keyFile);
      renameSync(`${certFile}.tmp`, certFile);
      this.#failed.delete(name);
      logger.info({ name, serial: held.serial, not_after: new Date(held.notAfter).toISOString() }, 'ACME certificate installed');
    } catch (err) {
      const failure = this.#explain(name, err as Error);
      this.#failed.set(name, { at: this.#o.clock.now(), message: failure.message });
      logger.error({ name, err: failure.message, hint: failure.hint }, 'ACME certificate order failed');
      throw failure;
    }
  }

  #explain(name: string, err: Error): FingerpostError {
    const { key, port } = this.#o.validationPort;
    const hint =
      this.#o.challenge === 'http-01'
        ? `check that ${name} resolves (A/AAAA) to this server and that port 80 there reaches ${key} (${port}); a reverse proxy must forward /.well-known/acme-challenge/ to it`
        : `check that ${name} resolves (A/AAAA) to this server and that port 443 there reaches ${key} (${port}) with TLS passed through, not terminated by a proxy`;
    return new FingerpostError('tls_failure', `ACME certificate for ${name} failed: ${err.message}`, { hint, cause: err });
  }

  /** Orders every name that lacks a current certificate (each failure is logged; the others go on). */
  async check(): Promise<void> {
    try {
      const names = (await this.#o.names()).map((n) => n.toLowerCase()).filter(acmeEligible);
      const now = this.#o.clock.now();
      const due = [...new Set(names)].filter((n) => {
        const held = this.#held.get(n);
        return (!held || held.renewAt <= now) && this.#mayTry(n);
      });
      await Promise.allSettled(due.map((n) => this.ensure(n)));
    } catch (err) {
      this.#o.logger.error({ err: (err as Error).message }, 'ACME check failed');
    } finally {
      this.#checks++;
      const ready = this.#checkWaiters.filter((w) => w.n <= this.#checks);
      this.#checkWaiters = this.#checkWaiters.filter((w) => w.n > this.#checks);
      for (const w of ready) w.resolve();
    }
  }

  /** How many checks have completed. */
  get checks(): number {
    return this.#checks;
  }

  /** Resolves once `n` checks have completed (tests wait on the renewal timer with it). */
  whenChecked(n: number): Promise<void> {
    if (this.#checks >= n) return Promise.resolve();
    return new Promise((resolve) => this.#checkWaiters.push({ n, resolve }));
  }

  /** When the next check is due: the earliest renewal or retry, at most `checkEveryMs` away. */
  #nextWake(): number {
    const now = this.#o.clock.now();
    let next = now + (this.#o.checkEveryMs ?? 12 * HOUR);
    for (const h of this.#held.values()) next = Math.min(next, h.renewAt);
    for (const f of this.#failed.values()) next = Math.min(next, f.at + (this.#o.retryAfterMs ?? HOUR));
    return Math.max(next - now, MINUTE);
  }

  /** Runs a check now and then whenever one is due, on the clock given, until `stop`. */
  start(): void {
    const loop = async () => {
      while (!this.#stopped) {
        await this.check();
        if (this.#stopped) break;
        await this.#o.clock.sleep(this.#nextWake());
      }
    };
    void loop();
  }

  /** Stops the renewal loop and drops queued orders; waits up to `graceMs` for the one in progress. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#queue, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}

/** Fetches the directory once (RFC 8555 §7.1.1); see `AcmeCertificates.open`. */
async function checkDirectory(url: string, agent: https.Agent, logger: Logger): Promise<void> {
  const result = await new Promise<{ status: number; body: string } | { error: NodeJS.ErrnoException }>((resolve) => {
    const req = https.get(url, { agent, timeout: 15_000, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 65_536) body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ error }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 15s'), { code: 'ETIMEDOUT' })));
    req.on('error', (error) => resolve({ error }));
  });
  if ('error' in result) {
    if (tlsProblem(result.error.code)) {
      throw new FingerpostError(
        'config_invalid',
        `config key tls.acme.directory: the HTTPS certificate of ${url} is not trusted (${result.error.code})`,
        { hint: 'check the URL, or set tls.acme.ca_file to the PEM CA certificate that signed the directory (a private CA or a test CA)' },
      );
    }
    logger.warn(
      { directory: url, err: result.error.code ?? result.error.message },
      'the ACME directory cannot be reached now; certificates are ordered when it can (check the network and tls.acme.directory)',
    );
    return;
  }
  let doc: Record<string, unknown> | undefined;
  try {
    doc = JSON.parse(result.body) as Record<string, unknown>;
  } catch {}
  if (result.status !== 200 || !doc || typeof doc.newOrder !== 'string' || typeof doc.newAccount !== 'string') {
    throw new FingerpostError('config_invalid', `config key tls.acme.directory: ${url} is not an ACME directory (HTTP ${result.status})`, {
      hint: "set tls.acme.directory to the CA's directory URL, such as https://acme-v02.api.letsencrypt.org/directory",
    });
  }
}
