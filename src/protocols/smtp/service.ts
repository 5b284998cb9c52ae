import type { AuthCore } from '../../auth/types.ts';
import type { Registry } from 'prom-client';
import type { Config } from '../../config/config.ts';
import type { WaitClock } from '../../core/clock.ts';
import { FingerpostError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory } from '../../directory/directory.ts';
import { InboundBaseline } from './baseline.ts';
import { InboundChecks } from '../../mail/inbound/checks.ts';
import { CachingResolver } from '../../mail/inbound/dns-cache.ts';
import { DnsblChecker } from '../../mail/inbound/dnsbl.ts';
import { JunkLearner } from '../../mail/inbound/junk-learner.ts';
import { SenderAuthThread } from '../../mail/inbound/sender-auth-thread.ts';
import { RspamdClient } from '../../mail/inbound/rspamd.ts';
import type { SieveDeliveryOptions } from '../../mail/sieve/deliver.ts';
import type { SieveScripts } from '../../mail/sieve/scripts.ts';
import { fromDomain } from '../../mail/queue/dkim.ts';
import { DaneLookups } from '../../mail/queue/dane.ts';
import { MtaStsPolicies } from '../../mail/queue/mta-sts.ts';
import { SecureResolver } from '../../mail/queue/secure-dns.ts';
import { DailyReports } from '../../mail/reports/daily-reports.ts';
import type { ReportStore } from '../../mail/reports/report-store.ts';
import type { OutboundQueue } from '../../mail/queue/queue.ts';
import { parseRoutes } from '../../mail/queue/routes.ts';
import { QueueWorker, type Smarthost, type TlsSessionResult } from '../../mail/queue/worker.ts';
import type { MailStore } from '../../mail/store.ts';
import type { OutboundStorage } from '../../mail/outbound-storage.ts';
import { isActive } from '../../mail/vacation/settings.ts';
import { type Enqueue, MailSubmission } from '../../mail/submission/submission.ts';
import type { ProtocolHandler } from '../../net/listener.ts';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import path from 'node:path';
import { smtpHandler } from './handler.ts';
import type { FailureCounter } from './harvest-guard.ts';
import { MailTransactions } from './mail-transactions.ts';
import { MemoryBudget } from './memory-budget.ts';
import { SmtpMetrics } from './metrics.ts';
import { SpoolDir } from './spool.ts';

export interface SmtpServiceDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** The queue, DKIM keys, sending limits and Sieve delivery over the node's database. */
  readonly outboundStorage: OutboundStorage;
  readonly directory: Directory;
  readonly mail: MailStore;
  readonly auth: AuthCore;
  /** Each account's Sieve scripts (src/mail/sieve/scripts.ts); the active one runs at delivery. */
  readonly sieveScripts: SieveScripts;
  /** The auth core's failure limits (src/auth/limits), shared with every protocol. */
  readonly failures?: FailureCounter;
  /** The node's Prometheus registry. */
  readonly registry?: Registry;
  readonly clock?: WaitClock;
  /** Applies calendar mail (iMIP, RFC 6047) after MX delivery (src/calendar/scheduling/incoming.ts). */
  readonly calendarMail?: SieveDeliveryOptions['calendarMail'];
}

/** The SMTP side of a node: MX and submission handlers, the outbound queue and its worker. */
export interface SmtpService {
  readonly smtp: ProtocolHandler;
  readonly submission: ProtocolHandler;
  readonly queue: OutboundQueue;
  readonly worker: QueueWorker | undefined;
  /** The mail submission use case over this node's queue, shared with JMAP EmailSubmission and automatic replies. */
  readonly outbound: MailSubmission;
  /** The queue's durable enqueue, DKIM-signing for a local From domain (iMIP invitations use it, RFC 6047). */
  readonly enqueue: Enqueue;
  stop(): Promise<void>;
}

function readCa(file: string, key = 'queue.smarthost_ca'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FingerpostError(
      'config_invalid',
      `config key ${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: 'point it at a PEM CA certificate file, or leave it empty to use the system CAs',
      },
    );
  }
}

function smarthostOf(config: Config): Smarthost | undefined {
  const q = config.queue;
  if (!q.smarthost) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(q.smarthost);
  const host = (m?.[1] ?? q.smarthost).replace(/^\[|\]$/g, '');
  const port = m?.[2] ? Number(m[2]) : q.smarthost_tls === 'implicit' ? 465 : 587;
  return {
    host,
    port,
    tls: q.smarthost_tls,
    ...(q.smarthost_user ? { auth: { user: q.smarthost_user, pass: q.smarthost_password } } : {}),
    ...(q.smarthost_ca ? { ca: readCa(q.smarthost_ca) } : {}),
  };
}

/** The checks on MX mail from config `[inbound]`; undefined when none is on. */
function inboundChecks(
  config: Config,
  logger: Logger,
  mail: MailStore,
  reports: ReportStore,
): { checks: InboundChecks; close(): void } | undefined {
  const c = config.inbound;
  if (!c.sender_auth && !c.rspamd_url && !c.allow_domains.length && !c.deny_domains.length) return undefined;
  const thread = c.sender_auth
    ? new SenderAuthThread({
        authservId: config.server.hostname,
        dns: { servers: c.dns_servers, timeoutMs: c.dns_timeout, ttlMs: c.dns_cache_ttl, maxEntries: c.dns_cache_entries },
        timeoutMs: c.check_timeout,
      })
    : undefined;
  const rspamd = c.rspamd_url
    ? new RspamdClient({
        url: c.rspamd_url,
        timeoutMs: c.rspamd_timeout,
        password: c.rspamd_password,
        controllerUrl: c.rspamd_controller_url,
      })
    : undefined;
  if (rspamd) {
    // Users' moves into and out of Junk (IMAP, JMAP) train rspamd's classifier.
    const learner = new JunkLearner({
      rspamd,
      read: async (accountId, ids) => Promise.all((await mail.getMessages(accountId, ids)).map((m) => mail.readRaw(m))),
      logger,
    });
    mail.onJunkSorted(learner.sorted);
  }
  const checks = new InboundChecks({
    hostname: config.server.hostname,
    ...(thread ? { senderAuth: (input) => thread.check(input) } : {}),
    receivedSpf: c.received_spf,
    policy: {
      dmarcReject: c.dmarc_reject,
      spfFail: c.spf_fail,
      allowDomains: c.allow_domains,
      denyDomains: c.deny_domains,
      spamReject: c.spam_reject,
    },
    ...(rspamd ? { rspamd } : {}),
    rspamdDown: c.rspamd_down,
    ...(c.dmarc_report_sending ? { reports } : {}),
    logger,
  });
  return { checks, close: () => thread?.close() };
}

/** DNS blocklists and greylisting from config `[inbound]`; undefined when both are off. */
function inboundBaseline(
  config: Config,
  storage: OutboundStorage,
  logger: Logger,
  metrics: SmtpMetrics | undefined,
  clock: WaitClock | undefined,
) {
  const c = config.inbound;
  if (!c.dnsbl_zones.length && !c.greylist) return undefined;
  const resolver = new CachingResolver({
    servers: c.dns_servers,
    timeoutMs: c.dns_timeout,
    ttlMs: c.dns_cache_ttl,
    maxEntries: c.dns_cache_entries,
    ...(clock ? { clock } : {}),
  });
  return new InboundBaseline({
    ...(c.dnsbl_zones.length ? { dnsbl: new DnsblChecker(c.dnsbl_zones, resolver.resolve) } : {}),
    ...(c.greylist
      ? {
          greylist: storage.greylist({
            delayMs: c.greylist_delay,
            retryWindowMs: c.greylist_retry_window,
            passTtlMs: c.greylist_pass_ttl,
            ...(clock ? { clock } : {}),
          }),
        }
      : {}),
    clientAllow: c.client_allow,
    greylistAllowDomains: c.greylist_allow_domains,
    ...(metrics ? { metrics } : {}),
    logger,
  });
}

/** Builds the SMTP handlers, queue and worker from config (the worker is started by `start`). */
export function createSmtpService(deps: SmtpServiceDeps): SmtpService & { start(): void } {
  const { config, logger } = deps;
  const queue = deps.outboundStorage.queue({ maxAgeMs: config.queue.max_age });
  const dkim = deps.outboundStorage.dkim();
  const enqueue: Enqueue = async (input) => {
    const domain = fromDomain(input.message) ?? input.sender.slice(input.sender.lastIndexOf('@') + 1);
    const local = domain ? await deps.directory.findDomain(domain) : undefined;
    const message = local ? await dkim.sign(input.message, local.name) : input.message;
    return queue.enqueue({ ...input, message });
  };
  const bounce = async (sender: string, report: Buffer) => {
    const account = await deps.directory.findByAddress(sender);
    const domain = await deps.directory.findDomain(sender.slice(sender.lastIndexOf('@') + 1));
    if (account && domain) await deps.mail.deliver(account.id, report);
    else if (!domain) await queue.enqueue({ sender: '', recipients: [sender], message: report });
    else logger.warn({ to: sender }, 'bounce for an unknown local address dropped');
  };
  const q = config.queue;
  const queueDns = new CachingResolver({ servers: q.dns_servers, timeoutMs: q.connect_timeout, ttlMs: 300_000, maxEntries: 10_000 });
  const extraCa = q.tls_ca ? readCa(q.tls_ca, 'queue.tls_ca') : undefined;
  const reportStore = deps.outboundStorage.reports();
  const worker = config.queue.enabled
    ? new QueueWorker({
        ...(q.tls_rpt
          ? {
              tlsResult: (r: TlsSessionResult) =>
                reportStore
                  .addTls(Date.now(), {
                    policyDomain: r.domain,
                    policy: r.policy,
                    result: r.failure ?? '',
                    receivingMx: r.receivingMx ?? '',
                  })
                  .catch((err: Error) => logger.warn({ err: err.message, domain: r.domain }, 'TLS-RPT result not counted')),
            }
          : {}),
        ...(q.dns_servers.length
          ? {
              resolveMx: (domain: string) => queueDns.resolve(domain, 'MX') as Promise<{ exchange: string; priority: number }[]>,
              resolveAddress: (host: string) => queueDns.resolve(host, 'A') as Promise<string[]>,
            }
          : {}),
        ...(q.mta_sts
          ? {
              mtaSts: new MtaStsPolicies({
                resolve: queueDns.resolve,
                timeoutMs: q.connect_timeout,
                ...(extraCa ? { ca: extraCa } : {}),
              }),
            }
          : {}),
        ...(extraCa ? { mxCa: [...rootCertificates, extraCa] } : {}),
        ...(q.dane ? { dane: new DaneLookups(new SecureResolver({ servers: q.dns_servers, timeoutMs: q.connect_timeout })) } : {}),
        queue,
        hostname: config.server.hostname,
        routes: parseRoutes(config.queue.routes, config.queue.remote_port),
        port: config.queue.remote_port,
        smarthost: smarthostOf(config),
        retryInitialMs: config.queue.retry_initial,
        retryMaxMs: config.queue.retry_max,
        pollMs: config.queue.poll_interval,
        concurrency: config.queue.concurrency,
        timeoutMs: config.queue.connect_timeout,
        verifyMxTls: config.queue.verify_mx_tls,
        bounce,
        logger,
      })
    : undefined;
  const inbound = inboundChecks(config, logger, deps.mail, reportStore);
  const daily =
    config.inbound.dmarc_report_sending || q.tls_rpt
      ? new DailyReports({
          store: reportStore,
          orgName: config.server.hostname,
          from: q.report_from || `postmaster@${config.server.hostname}`,
          resolve: queueDns.resolve,
          enqueue,
          dmarc: config.inbound.dmarc_report_sending,
          tlsRpt: q.tls_rpt,
          ...(extraCa ? { ca: [...rootCertificates, extraCa] } : {}),
          timeoutMs: q.connect_timeout,
          logger,
        })
      : undefined;
  let reportTimer: NodeJS.Timeout | undefined;
  const metrics = deps.registry ? new SmtpMetrics(deps.registry) : undefined;
  const baseline = inboundBaseline(config, deps.outboundStorage, logger, metrics, deps.clock);
  const sieve = deps.outboundStorage.sieveDelivery({
    vacationResponseOn: async (accountId) => isActive(await deps.mail.vacation.load(accountId), Date.now()),
    scripts: deps.sieveScripts,
    mail: deps.mail,
    addressesOf: (accountId) => deps.directory.addressesOf(accountId),
    // What a filter sends (redirect, vacation, reject notices): local recipients straight to their
    // INBOX (no second filter run, so two scripts cannot bounce a message between them), others queued.
    send: async (input) => {
      const remote: string[] = [];
      for (const to of input.recipients) {
        const account = (await deps.directory.findDomain(to.slice(to.lastIndexOf('@') + 1)))
          ? await deps.directory.findRecipient(to.toLowerCase())
          : undefined;
        if (account) await deps.mail.deliver(account.id, input.message);
        else remote.push(to);
      }
      if (remote.length) await enqueue({ sender: input.sender, recipients: remote, message: input.message });
    },
    hostname: config.server.hostname,
    enabled: config.sieve.enabled,
    parse: { maxBytes: config.sieve.max_script_size, maxDepth: config.sieve.max_nesting },
    run: {
      maxActions: config.sieve.max_actions,
      maxRedirects: config.sieve.max_redirects,
      steps: config.sieve.max_cpu_steps,
      vacationDays: {
        min: config.sieve.vacation_min_days,
        max: config.sieve.vacation_max_days,
        default: config.sieve.vacation_default_days,
      },
    },
    logger,
    ...(deps.calendarMail ? { calendarMail: deps.calendarMail } : {}),
  });
  const outbound = new MailSubmission({
    directory: deps.directory,
    mail: deps.mail,
    enqueue,
    senderPolicy: config.submission.sender_policy,
    // Local recipients of a JMAP submission go through their Sieve script, as on SMTP.
    deliverLocal: (accountId, message, context) => sieve.deliver(accountId, message, context),
    limits: deps.outboundStorage.sendingLimits({
      maxMessages: config.submission.max_messages_per_hour,
      maxRecipients: config.submission.max_recipients_per_hour,
      windowMs: 3_600_000,
    }),
  });
  const transactions = new MailTransactions({
    directory: deps.directory,
    submission: outbound,
    deliverLocal: (accountId, message, context) => sieve.deliver(accountId, message, context),
    ...(inbound ? { inbound: inbound.checks } : {}),
    ...(baseline ? { baseline } : {}),
    dmarcReports: { addresses: config.inbound.dmarc_report_addresses, store: deps.outboundStorage.dmarcReports(deps.clock) },
    requireAuthForRelay: (listener) => deps.auth.policy(listener).requireAuthForRelay,
    logger,
  });
  const spool = new SpoolDir(path.join(config.dataDir, 'spool'));
  const options = {
    hostname: config.server.hostname,
    auth: deps.auth,
    transactions,
    logger,
    maxMessageBytes: config.smtp.max_message_bytes,
    maxRecipients: config.smtp.max_recipients,
    tlsTimeoutMs: config.limits.handshake_timeout,
    spool,
    memory: new MemoryBudget(config.smtp.delivery_memory),
    maxUnknownRecipients: config.smtp.max_unknown_recipients,
    unknownRecipientDelayMs: config.smtp.unknown_recipient_delay,
    ...(deps.failures ? { failures: deps.failures } : {}),
    ...(metrics ? { metrics } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  };
  return {
    smtp: smtpHandler(options),
    submission: smtpHandler(options),
    queue,
    worker,
    outbound,
    enqueue,
    start: () => {
      worker?.start();
      if (daily && worker) {
        // Hourly: the previous UTC day's reports go out in the first run after midnight.
        const run = () => daily.sendDue(Date.now()).catch((err: Error) => logger.warn({ err: err.message }, 'daily reports failed'));
        reportTimer = setInterval(run, 3_600_000);
        reportTimer.unref();
      }
      spool.sweep().then(
        (n) => n && logger.info({ removed: n }, 'spool files left by an earlier run removed'),
        (err: Error) => logger.warn({ err: err.message }, 'spool sweep failed'),
      );
    },
    stop: async () => {
      clearInterval(reportTimer);
      inbound?.close();
      await worker?.stop();
    },
  };
}
