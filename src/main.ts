import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { AccountAdmin } from './admin/accounts.ts';
import { accountQuota, setAccountQuota } from './admin/quota.ts';
import { SessionAdmin } from './admin/sessions.ts';
import { idpSecret } from './idp/secrets.ts';
import { DkimKeys } from './mail/queue/dkim.ts';
import { OutboundQueue } from './mail/queue/queue.ts';
import { registerWeb } from './web/mount.ts';
import { FreebusyAsks } from './admin/freebusy-asks.ts';
import { newDeviceNotice } from './idp/new-device.ts';
import { AuthService } from './auth/service.ts';
import { jwkSigner, newestPublished } from './calendar/federation/assertion.ts';
import type { CalendarService } from './calendar/service.ts';
import { createCalendarService } from './calendar/setup.ts';
import type { Config } from './config/config.ts';
import { systemClock, type WaitClock } from './core/clock.ts';
import { FingerpostError } from './core/errors.ts';
import { createLogger, type Logger } from './core/log.ts';
import { LoopWatchdog } from './core/watchdog.ts';
import type { AccountDirectory, DirectoryAccount } from './directory/directory.ts';
import { LdapDirectory } from './directory/ldap/ldap.ts';
import type { LdapOptions } from './directory/ldap/options.ts';
import { RoutedDirectory } from './directory/routed.ts';
import { SqlDirectory } from './directory/sql.ts';
import { EmbeddedIdp } from './idp/idp.ts';
import { MAIL_CHANGED, shareMailChanges } from './mail/cluster.ts';
import { provisionMailboxes } from './mail/provision.ts';
import { publishEvent } from './store/events.ts';
import { MessageAnalyzer } from './mail/mime/analyzer.ts';
import { MailStore } from './mail/store.ts';
import { certificateNames, coveredName } from './discovery/certificate-names.ts';
import { registerDiscoveryRoutes } from './discovery/routes.ts';
import { issuerForDomain } from './discovery/services.ts';
import { registerJmapRoutes } from './protocols/jmap/routes.ts';
import { AcmeCertificates } from './net/acme/certificates.ts';
import { AcmeChallenges } from './net/acme/challenges.ts';
import { type HttpResponder, startHttpResponder } from './net/acme/http-responder.ts';
import type { ListenerInfo } from './net/connection.ts';
import { ConnectionLimiter } from './net/limits.ts';
import { type Listener, type ListenerObserver, type ProtocolHandler, startListener } from './net/listener.ts';
import { ensureLocalTls, localCaCertificates } from './net/local-ca.ts';
import { loadTls, reloadTls, type TlsMaterial } from './net/tls.ts';
import { startCalendarHttp } from './protocols/calendar/start.ts';
import { registerDavRoutes } from './protocols/dav/routes.ts';
import { incomingImip } from './calendar/scheduling/incoming.ts';
import { Scheduler } from './calendar/scheduling/scheduler.ts';
import { ContactsStore } from './contacts/store.ts';
import { createHttpApp } from './protocols/http/server.ts';
import { MaildropLocks } from './mail/maildrop-lock.ts';
import { SieveScripts } from './mail/sieve/scripts.ts';
import { imapHandler } from './protocols/imap/handler.ts';
import { MessageCache } from './protocols/imap/message-cache.ts';
import { pop3Handler } from './protocols/pop3/handler.ts';
import { manageSieveHandler } from './protocols/managesieve/handler.ts';
import { VacationResponder } from './mail/vacation/responder.ts';
import { OutboundStorage } from './mail/outbound-storage.ts';
import { createSmtpService } from './protocols/smtp/service.ts';
import { sweepBlobs } from './store/blob-gc.ts';
import { openBlobStore } from './store/open-blobs.ts';
import type { BlobStore } from './store/blobs.ts';
import { type Db, openDb, ping } from './store/db.ts';

const BLOB_SWEEP_MS = 6 * 3_600_000;

/** The account page and admin console (src/web) on the HTTPS app, over the admin CLI's use cases. */
async function mountAccountWeb(app: FastifyInstance, services: Services, localCaPem: () => string | undefined): Promise<void> {
  const { config, db } = services;
  const quotaDeps = { db, directory: services.directory, mail: services.mail };
  const freebusyAsks = new FreebusyAsks(db);
  services.calendar.setAskLog((accountId, asker, allowed) => freebusyAsks.record(accountId, asker, allowed));
  await registerWeb(
    app,
    {
      config,
      logger: services.logger.child({ component: 'web' }),
      directory: services.directory,
      accounts: services.accounts,
      sessions: new SessionAdmin(db),
      idp: services.idp,
      issuers: services.auth.issuers,
      sieve: services.sieveScripts,
      vacation: services.mail.vacation,
      calendar: services.calendar,
      freebusyAsks,
      queue: new OutboundQueue(db, services.blobs, { maxAgeMs: config.queue.max_age }),
      dkim: new DkimKeys(db),
      quota: { get: (a) => accountQuota(quotaDeps, a), set: (a, limit) => setAccountQuota(quotaDeps, a, limit) },
      localCaPem,
    },
    { cookie: await idpSecret(db, 'web-cookie'), client: await idpSecret(db, 'web-client') },
  );
}

/** Everything a running node or an admin command shares: config, storage, directory, logging. */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Db;
  readonly directory: AccountDirectory;
  readonly blobs: BlobStore;
  readonly accounts: AccountAdmin;
  /** The authentication core every protocol and HTTP route calls (src/auth). */
  readonly auth: AuthService;
  /** The message store shared by IMAP, POP3, JMAP and SMTP delivery. */
  readonly mail: MailStore;
  /** The embedded OpenID provider (src/idp): keys, tokens, clients; mounted on HTTPS by startServer. */
  readonly idp: EmbeddedIdp;
  /** Calendars, free/busy and sharing rules (src/calendar). */
  readonly calendar: CalendarService;
  /** Each account's Sieve scripts: run at delivery, managed over ManageSieve (src/mail/sieve). */
  readonly sieveScripts: SieveScripts;
  close(): Promise<void>;
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new FingerpostError(
      'data_dir_unwritable',
      `the data directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      {
        hint: 'choose another directory with --data DIR (or FINGERPOST_DATA), or fix its permissions',
      },
    );
  }
}

/**
 * Routes revocations (the embedded provider's revoked grants, tokens and removed clients, and
 * back-channel logouts from external issuers — made here, on another node or in the admin CLI)
 * to the auth core: the tokens or OIDC session are refused and their live sessions end.
 */
function applyRevocations(auth: AuthService, idp: EmbeddedIdp): void {
  idp.setRevocationHandler((r) => {
    if (r.kind === 'session') {
      auth.revocations.revokeSid(r.issuer, r.sid, r.until);
      auth.sessions.end({ issuer: r.issuer, sessionId: r.sid }, 'logout');
      return;
    }
    for (const jti of r.jtis) {
      auth.revocations.revokeJti(r.issuer, jti, r.until);
      auth.sessions.end({ issuer: r.issuer, credentialId: jti }, 'revoked');
    }
  });
}

/** An LDAP source's options from its config; an unreadable `ca_file` stops start-up naming the key. */
function ldapOptions(c: Config['directory']['ldap'][number], name: string, key: string): LdapOptions {
  let ca: string | undefined;
  if (c.ca_file) {
    try {
      ca = readFileSync(c.ca_file, 'utf8');
    } catch (err) {
      throw new FingerpostError(
        'config_invalid',
        `config key ${key}.ca_file: cannot read ${c.ca_file} (${(err as NodeJS.ErrnoException).code})`,
        {
          hint: 'give the path of a PEM file with the CA certificates of the LDAP servers',
        },
      );
    }
  }
  return {
    name: c.name || name,
    domains: c.domains.map((d) => d.toLowerCase()),
    urls: c.urls,
    startTls: c.start_tls,
    ...(ca ? { ca } : {}),
    bindDn: c.bind_dn,
    bindPassword: c.bind_password,
    baseDn: c.base_dn,
    userFilter: c.user_filter,
    mailAttribute: c.mail_attribute,
    aliasAttributes: c.alias_attributes,
    nameAttribute: c.name_attribute,
    quotaAttribute: c.quota_attribute,
    statusAttribute: c.status_attribute,
    disabledValues: c.disabled_values,
    adminGroupDn: c.admin_group_dn,
    groupMemberAttribute: c.group_member_attribute,
    poolSize: c.pool_size,
    timeoutMs: c.timeout,
    retryMs: c.retry_after,
    cacheTtlMs: c.cache_ttl,
    cacheSize: c.cache_size,
  };
}

/**
 * The directory: SQL alone, or with `directory.ldap` sources routed by domain. An LDAP account's
 * first sign-in (or delivery) creates its mailboxes; its quota follows the LDAP attribute.
 */
async function openDirectory(config: Config, db: Db, mail: MailStore): Promise<AccountDirectory & { close?(): Promise<void> }> {
  const sql = new SqlDirectory(db);
  if (config.directory.ldap.length === 0) return sql;
  const onSync = async (account: DirectoryAccount, created: boolean) => {
    if (created) await provisionMailboxes(db.kysely, account.id);
    if (account.quota === undefined) return;
    const change = await mail.setStorageLimit(account.id, account.quota);
    if (change) await publishEvent(db, MAIL_CHANGED, { ...change, node: 'directory' });
  };
  const sources = config.directory.ldap.map(
    (source, i) => new LdapDirectory({ options: ldapOptions(source, `ldap${i}`, `directory.ldap[${i}]`), sql, db, onSync }),
  );
  const routed = new RoutedDirectory(sql, sources);
  await routed.ensureDomains();
  return routed;
}

/** Opens the data directory and database (running migrations) and wires the directory. No listeners. */
export async function openServices(config: Config, options: { logger?: Logger } = {}): Promise<Services> {
  ensureWritableDir(config.dataDir);
  const logger = options.logger ?? createLogger(config.log.level, undefined, config.log.format);
  const db = await openDb({
    url: config.store.url,
    sqlitePath: config.sqlitePath,
    poolSize: config.store.pool_size,
    busyTimeoutMs: config.store.busy_timeout,
  });
  const blobs = await openBlobStore(config, db);
  // Large messages are parsed in a worker thread, off the event loop every protocol shares.
  const analyzer = new MessageAnalyzer();
  const mail = new MailStore(db, blobs, analyzer);
  const directory = await openDirectory(config, db, mail);
  const auth = new AuthService({ config, directory, logger, db });
  const idp = new EmbeddedIdp({ config, db, directory, logger });
  // The embedded provider is a trusted issuer whose keys are handed over in-process (no HTTP).
  if (config.idp.enabled) auth.trustEmbeddedIssuer({ issuer: idp.issuer, jwks: () => idp.publicJwks() });
  applyRevocations(auth, idp);
  return {
    config,
    logger,
    db,
    directory,
    blobs,
    accounts: new AccountAdmin(db, directory),
    auth,
    mail,
    idp,
    calendar: createCalendarService(config, db, directory, logger),
    sieveScripts: new SieveScripts(db, { maxScripts: config.sieve.max_scripts, maxBytes: config.sieve.max_script_size }),
    close: async () => {
      analyzer.close();
      await directory.close?.();
      return db.close();
    },
  };
}

/** What the first start created; the admin password is shown once and never stored in clear. */
export interface FirstStart {
  readonly created: boolean;
  readonly domain?: string;
  readonly admin?: { readonly address: string; readonly password: string };
}

/** On an empty store: creates the first domain and its admin account with a generated password. */
export async function ensureFirstStart(services: Services, domain: string): Promise<FirstStart> {
  if ((await services.directory.listDomains()).length > 0) return { created: false };
  const added = await services.accounts.addDomain(domain);
  try {
    const { account, generatedPassword } = await services.accounts.addUser({
      address: `admin@${added.name}`,
      isAdmin: true,
      displayName: 'Administrator',
    });
    return { created: true, domain: added.name, admin: { address: account.address, password: generatedPassword! } };
  } catch (err) {
    await services.accounts.removeDomain(added.name).catch(() => {});
    throw err;
  }
}

/**
 * Takes back what `ensureFirstStart` created when the start then fails (a port in use): otherwise
 * the next start would find a domain and an admin account whose password was never shown.
 */
export async function undoFirstStart(services: Services, first: FirstStart): Promise<void> {
  if (!first.created || !first.domain) return;
  if (first.admin) await services.accounts.removeUser(first.admin.address);
  await services.accounts.removeDomain(first.domain);
}

/** The TLS material: the configured files, or the local CA's certificate for localhost and the hostname. */
export async function prepareTls(config: Config): Promise<TlsMaterial & { created: boolean }> {
  if (config.tls.cert || config.tls.key) {
    if (!config.tls.cert || !config.tls.key) {
      throw new FingerpostError('config_invalid', 'config key tls.cert and tls.key must be set together', {
        hint: 'set both, or neither to use the local CA',
      });
    }
    return { ...loadTls(config.tls.cert, config.tls.key, config.tls.min_version), created: false };
  }
  const files = await ensureLocalTls(config.dataDir, [config.server.hostname]);
  return { ...loadTls(files.cert, files.key, config.tls.min_version, files.caCert), created: files.created };
}

/**
 * Start-up checks of `tls.acme.*` that span several keys (docs/configuration.md): a wrong
 * combination stops start-up naming the key and the fix.
 */
function checkAcmeConfig(config: Config): void {
  const a = config.tls.acme;
  if (a.challenge === 'tls-alpn-01' && !config.http.enabled)
    throw new FingerpostError(
      'config_invalid',
      'config key tls.acme.challenge = "tls-alpn-01" needs the HTTPS listener, but http.enabled is false',
      {
        hint: 'set http.enabled = true, or tls.acme.challenge = "http-01"',
      },
    );
  if (a.challenge === 'http-01' && a.http_port !== 0 && config.http.enabled && a.http_port === config.http.port)
    throw new FingerpostError('config_invalid', `config key tls.acme.http_port (${a.http_port}) is also http.port`, {
      hint: 'the http-01 responder speaks plain HTTP: give tls.acme.http_port its own port (80, or one port 80 is forwarded to)',
    });
}

/**
 * ACME (RFC 8555): certificates for server.hostname and every served domain's names
 * (src/discovery/certificate-names.ts) are served by SNI ahead of the local CA or tls.cert, which
 * answer until they arrive. Call before the listeners start; `begin` after, so the CA can validate.
 */
async function prepareAcme(
  services: Services,
  material: TlsMaterial,
  clock: WaitClock,
): Promise<{ certs: AcmeCertificates; begin(): Promise<HttpResponder | undefined> } | undefined> {
  const { config, logger, directory } = services;
  const a = config.tls.acme;
  if (!a.directory) return undefined;
  checkAcmeConfig(config);
  const challenges = new AcmeChallenges();
  const isServed = async (d: string) => (await directory.findDomain(d).catch(() => undefined)) !== undefined;
  const certs = await AcmeCertificates.open({
    directory: a.directory,
    email: a.email,
    challenge: a.challenge,
    caFile: a.ca_file,
    renewBeforeMs: a.renew_before,
    dataDir: config.dataDir,
    minVersion: config.tls.min_version,
    names: async () => [config.server.hostname, ...(await directory.listDomains()).flatMap((d) => certificateNames(d.name))],
    covered: async (name) => name === config.server.hostname.toLowerCase() || (await coveredName(name, isServed)),
    validationPort:
      a.challenge === 'http-01' ? { key: 'tls.acme.http_port', port: a.http_port } : { key: 'http.port', port: config.http.port },
    challenges,
    logger: logger.child({ component: 'acme' }),
    clock,
  });
  material.acme = challenges;
  const fallback = material.sni;
  material.sni = async (name) => certs.sni(name) ?? (fallback ? await fallback(name) : undefined);
  return {
    certs,
    async begin() {
      const responder =
        a.challenge === 'http-01'
          ? await startHttpResponder({ bind: a.http_bind, port: a.http_port, httpsPort: config.http.port, challenges })
          : undefined;
      certs.start();
      return responder;
    },
  };
}

/** A running node: its listeners (with their bound ports) and how to stop it. */
export interface RunningServer {
  readonly listeners: readonly Listener[];
  readonly tls: TlsMaterial;
  /** The ACME certificates (when tls.acme.directory is set) and the http-01 responder's port. */
  readonly acme?: { readonly certs: AcmeCertificates; readonly httpPort: number | undefined };
  readonly metrics: Registry;
  /**
   * Loads `tls.cert`/`tls.key` (or the local CA's files) again for every listener (SIGHUP): new
   * connections get the new certificate, open sessions go on. Throws, keeping the old one, when
   * the files do not load.
   */
  reloadCertificates(): void;
  /**
   * Applies the keys of `next` that can change while running (src/cli/reload.ts LIVE_KEYS): log
   * level, connection limits, the drain timeout, the trusted issuers. Other keys are left as started.
   */
  reconfigure(next: Config): void;
  /** Drains connections (protocol goodbyes), stops HTTP, closes the store. */
  close(): Promise<void>;
}

interface MailListenerSpec {
  readonly name: string;
  readonly protocol: Exclude<ListenerInfo['protocol'], 'http'>;
  readonly implicitTls: boolean;
  readonly section: 'imap' | 'pop3' | 'submission' | 'smtp' | 'managesieve';
  readonly port: number;
}

function mailListeners(config: Config): MailListenerSpec[] {
  const out: MailListenerSpec[] = [];
  const dual = (section: 'imap' | 'pop3' | 'submission', plainName: string, tlsName: string) => {
    const c = config[section];
    if (!c.enabled) return;
    out.push({ name: plainName, protocol: section, implicitTls: false, section, port: c.port });
    out.push({ name: tlsName, protocol: section, implicitTls: true, section, port: c.tls_port });
  };
  dual('imap', 'imap', 'imaps');
  dual('pop3', 'pop3', 'pop3s');
  if (config.smtp.enabled) out.push({ name: 'smtp', protocol: 'smtp', implicitTls: false, section: 'smtp', port: config.smtp.port });
  dual('submission', 'submission', 'submissions');
  const ms = config.managesieve;
  if (ms.enabled) {
    out.push({ name: 'managesieve', protocol: 'managesieve', implicitTls: false, section: 'managesieve', port: ms.port });
    if (ms.tls_enabled)
      out.push({ name: 'managesieves', protocol: 'managesieve', implicitTls: true, section: 'managesieve', port: ms.tls_port });
  }
  return out;
}

function createMetrics(): { registry: Registry; observer: ListenerObserver } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fingerpost_process_' });
  const open = new Gauge({
    name: 'fingerpost_connections_open',
    help: 'Open client connections',
    labelNames: ['listener'],
    registers: [registry],
  });
  const total = new Counter({
    name: 'fingerpost_connections_total',
    help: 'Accepted client connections',
    labelNames: ['listener'],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'fingerpost_connections_refused_total',
    help: 'Connections refused by limits',
    labelNames: ['listener', 'reason'],
    registers: [registry],
  });
  const evicted = new Counter({
    name: 'fingerpost_connections_evicted_total',
    help: 'Connections not signed in yet that were closed to make room for new ones (limits.prelogin_share)',
    labelNames: ['listener'],
    registers: [registry],
  });
  const timedOut = new Counter({
    name: 'fingerpost_connections_timed_out_total',
    help: 'Connections closed for inactivity, before sign-in (prelogin) or after (idle)',
    labelNames: ['listener', 'phase'],
    registers: [registry],
  });
  return {
    registry,
    observer: {
      opened: (l) => {
        open.inc({ listener: l });
        total.inc({ listener: l });
      },
      closed: (l) => open.dec({ listener: l }),
      refused: (l, reason) => refused.inc({ listener: l, reason }),
      evicted: (l) => evicted.inc({ listener: l }),
      timedOut: (l, phase) => timedOut.inc({ listener: l, phase }),
    },
  };
}

/** What a node may be started with besides its services: a clock tests can make skip deliberate delays. */
export interface StartOptions {
  readonly clock?: WaitClock;
  /** The clock ACME renewals are timed by (tests move it forward to make a renewal due). */
  readonly renewalClock?: WaitClock;
  /** Other processes on this machine serve from the same store (`serve --workers N`): mail changes cross them too. */
  readonly sharedStore?: boolean;
}

/** Starts every configured listener (HTTPS and the mail protocols) on the shared services. */
export async function startServer(services: Services, tls?: TlsMaterial, options: StartOptions = {}): Promise<RunningServer> {
  const { config, logger } = services;
  const material = tls ?? (await prepareTls(config));
  // Local CA: every served domain and its discovery names get a certificate by SNI, also domains
  // added while the server runs (src/net/local-ca.ts, src/discovery/certificate-names.ts).
  if (material.caFile && !material.sni)
    material.sni = await localCaCertificates(config.dataDir, config.tls.min_version, (name) =>
      coveredName(name, async (d) => (await services.directory.findDomain(d).catch(() => undefined)) !== undefined),
    );
  // The renewal timer must not keep a stopping process alive: its sleeps are unref'd.
  const renewalClock: WaitClock = options.renewalClock ?? {
    now: () => systemClock.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
  };
  const acme = await prepareAcme(services, material, renewalClock);
  const limiter = new ConnectionLimiter({
    total: config.limits.connections_total,
    perIp: config.limits.connections_per_ip,
    preloginShare: config.limits.prelogin_share,
  });
  const { registry, observer } = createMetrics();
  services.auth.registerMetrics(registry);
  const stalls = new Counter({
    name: 'fingerpost_event_loop_stalls_total',
    help: 'Times the event loop was held longer than log.stall_threshold (each is logged with what was running)',
    registers: [registry],
  });
  const watchdog = new LoopWatchdog({ logger, stallMs: config.log.stall_threshold, onStall: () => stalls.inc() });
  watchdog.start();
  const listeners: Listener[] = [];
  const onError = (err: Error) => logger.debug({ err: err.message }, 'connection setup failed');
  const common = {
    tls: material,
    limiter,
    idleTimeoutMs: config.limits.idle_timeout,
    handshakeTimeoutMs: config.limits.handshake_timeout,
    observer,
    onError,
  };

  // Invitations to other domains leave as iMIP mail through the outbound queue, and iMIP mail the
  // MX delivers is applied to the recipient's calendar (RFC 6047).
  const scheduler = new Scheduler({
    calendar: services.calendar,
    directory: services.directory,
    enqueue: (input) => smtpService.enqueue(input),
    logger: logger.child({ component: 'scheduling' }),
  });
  const smtpService = createSmtpService({
    ...services,
    outboundStorage: new OutboundStorage(services.db, services.blobs),
    ...(config.calendar.enabled
      ? { calendarMail: incomingImip({ scheduler, directory: services.directory, logger: logger.child({ component: 'scheduling' }) }) }
      : {}),
    failures: services.auth.limits,
    registry,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const handlers: Record<MailListenerSpec['protocol'], ProtocolHandler> = {
    smtp: smtpService.smtp,
    submission: smtpService.submission,
    imap: imapHandler({
      hostname: config.server.hostname,
      auth: services.auth,
      mail: services.mail,
      cache: new MessageCache(services.mail),
      logger,
      tlsTimeoutMs: config.limits.handshake_timeout,
      limits: {
        maxLine: config.imap.max_line,
        maxLiteral: config.imap.max_literal,
        appendLimit: config.imap.append_limit,
        commandsPerSecond: config.imap.commands_per_second,
        maxAuthFailures: config.imap.max_auth_failures,
        literalPlus: config.imap.literal_plus,
        metadataMaxSize: config.imap.metadata_max_size,
        metadataMaxEntries: config.imap.metadata_max_entries,
      },
    }),
    managesieve: manageSieveHandler({
      hostname: config.server.hostname,
      auth: services.auth,
      scripts: services.sieveScripts,
      logger,
      tlsTimeoutMs: config.limits.handshake_timeout,
      wire: { maxLine: 8192, maxLiteral: config.managesieve.max_literal },
      parse: { maxBytes: config.sieve.max_script_size, maxDepth: config.sieve.max_nesting },
      maxRedirects: config.sieve.max_redirects,
    }),
    pop3: pop3Handler({
      hostname: config.server.hostname,
      auth: services.auth,
      mail: services.mail,
      locks: new MaildropLocks(services.db),
      logger,
      tlsTimeoutMs: config.limits.handshake_timeout,
    }),
  };

  const { app, server: httpsServer } = createHttpApp({
    config,
    logger,
    tls: material,
    metrics: registry,
    health: async () => {
      try {
        await ping(services.db);
        return { ok: true, checks: { store: 'ok' }, eventLoop: watchdog.delay() };
      } catch (err) {
        return { ok: false, checks: { store: (err as Error).message }, eventLoop: watchdog.delay() };
      }
    },
  });

  const caPem = material.caFile ? readFileSync(material.caFile, 'utf8') : undefined;
  registerDiscoveryRoutes(app, { config, directory: services.directory, http: services.auth.http, localCaPem: () => caPem });
  services.auth.registerHttpRoutes(app);
  registerJmapRoutes(app, { ...services, httpAuth: services.auth.http, submission: smtpService.outbound, metrics: registry });
  await services.idp.mount(app, {
    issuers: services.auth.issuers,
    auth: services.auth,
    metrics: registry,
    // A sign-in from a browser new to the account puts a notice in its INBOX.
    onNewDevice: (notice) =>
      void (async () => {
        const account = await services.directory.findByAddress(notice.account);
        if (!account) return;
        await services.mail.deliver(
          account.id,
          newDeviceNotice(notice, { serverName: config.server.name, accountUrl: `${config.publicUrl}/account` }),
        );
      })().catch((err) => logger.warn({ err: (err as Error).message, account: notice.account }, 'new-device notice failed')),
  });
  if (config.idp.enabled) await mountAccountWeb(app, services, () => caPem);
  // Assertions for this server's users are signed with the keys the embedded issuer publishes.
  const calendarHttp = config.calendar.enabled
    ? startCalendarHttp(app, {
        config,
        calendar: services.calendar,
        directory: services.directory,
        http: services.auth.http,
        signer: config.idp.enabled
          ? jwkSigner(services.idp.issuer, async () =>
              newestPublished((await services.idp.keys.load()).published, await services.idp.publicJwks()),
            )
          : undefined,
        // Only a domain whose WebFinger names the embedded issuer can vouch for its users elsewhere.
        speaksFor: (domain) => issuerForDomain(config, domain)?.embedded === true,
        logger,
      })
    : undefined;
  // CalDAV (and the well-known redirects) on the same calendar store.
  if (config.calendar.enabled)
    registerDavRoutes(app, {
      config,
      calendar: services.calendar,
      contacts: new ContactsStore(services.db),
      http: services.auth.http,
      logger: logger.child({ component: 'dav' }),
      scheduler,
      ...(calendarHttp ? { availability: calendarHttp.availability } : {}),
    });

  try {
    if (config.http.enabled) {
      await app.ready();
      listeners.push(
        await startListener({
          ...common,
          info: { name: 'https', protocol: 'http', implicitTls: true },
          bind: config.http.bind,
          port: config.http.port,
          proxy: { enabled: config.http.proxy_protocol, from: config.http.proxy_from },
          handler: { https: httpsServer },
        }),
      );
    }
    for (const spec of mailListeners(config)) {
      const section = config[spec.section];
      listeners.push(
        await startListener({
          ...common,
          info: { name: spec.name, protocol: spec.protocol, implicitTls: spec.implicitTls },
          bind: section.bind,
          port: spec.port,
          proxy: { enabled: section.proxy_protocol, from: section.proxy_from },
          // The MX listener has no sign-in; it keeps RFC 5321's timeout (§4.5.3.2.7).
          preloginTimeoutMs: spec.protocol === 'smtp' ? config.smtp.idle_timeout : config.limits.prelogin_timeout,
          handler: handlers[spec.protocol],
        }),
      );
    }
  } catch (err) {
    watchdog.stop();
    services.idp.close();
    await Promise.all(listeners.map((l) => l.close(0)));
    await calendarHttp?.stop();
    await app.close();
    throw err;
  }
  let acmeResponder: HttpResponder | undefined;
  try {
    acmeResponder = await acme?.begin();
  } catch (err) {
    await acme?.certs.stop();
    watchdog.stop();
    services.idp.close();
    await Promise.all([app.close(), ...listeners.map((l) => l.close(0)), calendarHttp?.stop()]);
    throw err;
  }
  smtpService.start();
  // Automatic replies (RFC 8621 §8) follow delivery by any protocol, with or without JMAP.
  const vacation = new VacationResponder({
    mail: services.mail,
    settings: services.mail.vacation,
    submission: smtpService.outbound,
    directory: services.directory,
    hostname: config.server.hostname,
    logger: logger.child({ component: 'vacation' }),
    now: Date.now,
  });
  await vacation.start();
  // Blobs nothing refers to any more (expunged mail, sent queue entries, expired uploads) go here.
  const blobSweep = setInterval(() => {
    sweepBlobs(services.db, services.blobs).then(
      (n) => n && logger.info({ removed: n }, 'unreferenced blobs removed'),
      (err) => logger.warn({ err }, 'blob sweep failed'),
    );
  }, BLOB_SWEEP_MS);
  blobSweep.unref();
  // Revocations made by the admin CLI or other nodes reach this node's live sessions.
  await services.auth.start();
  // Several nodes on one PostgreSQL: IDLE and push here also hear of mail changed on the others.
  const stopMailSharing =
    services.db.dialect === 'postgres' || options.sharedStore
      ? await shareMailChanges(services.db, services.mail, logger, config.auth.events_poll)
      : undefined;

  let closing: Promise<void> | undefined;
  let drainMs = config.limits.drain_timeout;
  let configuredIssuers = config.auth.issuers;
  return {
    listeners,
    tls: material,
    ...(acme ? { acme: { certs: acme.certs, httpPort: acmeResponder?.port } } : {}),
    metrics: registry,
    reloadCertificates() {
      reloadTls(material);
      // The HTTPS server keeps its own default context for clients that send no SNI.
      httpsServer?.setSecureContext({ cert: material.cert, key: material.key, minVersion: material.minVersion });
      logger.info({ cert: material.certFile }, 'TLS certificate reloaded');
    },
    reconfigure(next) {
      logger.level = next.log.level;
      limiter.configure({
        total: next.limits.connections_total,
        perIp: next.limits.connections_per_ip,
        preloginShare: next.limits.prelogin_share,
      });
      drainMs = next.limits.drain_timeout;
      // Inactivity timers of connections that come next; the handshake timeout stays (STARTTLS and HTTPS read it at start).
      for (const l of listeners)
        l.setTimeouts({
          idleTimeoutMs: next.limits.idle_timeout,
          handshakeTimeoutMs: config.limits.handshake_timeout,
          ...(l.info.protocol === 'http'
            ? {}
            : { preloginTimeoutMs: l.info.protocol === 'smtp' ? next.smtp.idle_timeout : next.limits.prelogin_timeout }),
        });
      // Issuers no longer listed stop being trusted for new sign-ins; changed ones are re-read.
      for (const old of configuredIssuers) services.auth.issuers.remove(old.issuer);
      for (const issuer of next.auth.issuers) services.auth.issuers.addConfigured(issuer);
      configuredIssuers = next.auth.issuers;
    },
    close() {
      closing ??= (async () => {
        await acme?.certs.stop();
        await acmeResponder?.close();
        services.idp.close();
        watchdog.stop();
        clearInterval(blobSweep);
        stopMailSharing?.();
        vacation.stop();
        // Listeners first: sessions finish their commands and say goodbye while the store is still open.
        await Promise.all([app.close(), ...listeners.map((l) => l.close(drainMs)), calendarHttp?.stop()]);
        await smtpService.stop();
        await services.auth.stop();
        await services.close();
      })();
      return closing;
    },
  };
}
