import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { Logger } from '../../core/log.ts';
import { retryDelay } from './backoff.ts';
import { deliverToHop, type HopOptions } from './deliver.ts';
import { buildBounce, type FailedRecipient } from './dsn.ts';
import type { DaneLookups } from './dane.ts';
import type { MtaStsPolicies } from './mta-sts.ts';
import type { ClaimedBatch, OutboundQueue } from './queue.ts';
import { type Hop, type MxResolver, resolveRoute } from './routes.ts';
import { mxMatches } from './mta-sts.ts';
import type { RecipientOutcome } from './status.ts';

/** A relay all outbound mail goes through instead of MX lookups. */
export interface Smarthost {
  readonly host: string;
  readonly port: number;
  readonly tls: 'implicit' | 'starttls' | 'none';
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly ca?: string;
}

export interface QueueWorkerOptions {
  readonly queue: OutboundQueue;
  /** Our EHLO name and the Reporting-MTA of bounces. */
  readonly hostname: string;
  readonly routes: ReadonlyMap<string, Hop>;
  /** Port of remote MX hosts (25). */
  readonly port: number;
  readonly smarthost?: Smarthost;
  readonly resolveMx?: MxResolver;
  /** IPv4 addresses of an MX host through the queue's DNS servers; absent: the system's (getaddrinfo). */
  readonly resolveAddress?: (host: string) => Promise<string[]>;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly pollMs: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Verify certificates of MX hosts (off: opportunistic TLS, RFC 7435). */
  readonly verifyMxTls: boolean;
  /** Remote MTA-STS policies (RFC 8461), enforced for MX deliveries (not smarthosts or static routes). */
  readonly mtaSts?: MtaStsPolicies;
  /** DANE (RFC 7672) through a DNSSEC-validating resolver; takes precedence over MTA-STS (RFC 8461 §2). */
  readonly dane?: DaneLookups;
  /** Called once per delivery attempt to an MX host under a TLS policy, for TLS-RPT (RFC 8460 §4). */
  readonly tlsResult?: (result: TlsSessionResult) => void;
  /** CAs for MX certificates verified under MTA-STS or `verifyMxTls` (system CAs plus extras); absent: the system's. */
  readonly mxCa?: readonly string[];
  /** Hands a bounce to the sender (local delivery, or the queue with the null sender). */
  readonly bounce: (sender: string, report: Buffer) => Promise<void>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The policy a destination domain's delivery ran under (RFC 8460 §4.3 `policy-type`). */
export interface TlsPolicyUsed {
  readonly type: 'tlsa' | 'sts' | 'no-policy-found';
  /** TLSA records in presentation form, or the MTA-STS policy's lines. */
  readonly strings: readonly string[];
  readonly mxHost?: readonly string[];
}

/** One SMTP session's TLS outcome for a policy domain (RFC 8460 §4.4). */
export interface TlsSessionResult {
  readonly domain: string;
  readonly policy: TlsPolicyUsed;
  /** Absent: success. */
  readonly failure?: string;
  readonly receivingMx?: string;
}

type Hops = { hops: Array<HopOptions>; policy?: TlsPolicyUsed } | { outcome: RecipientOutcome; policy?: TlsPolicyUsed; failure?: string };

/**
 * Delivers queued mail: polls for due recipients (and starts at once when nudged), one attempt
 * per message and destination domain, MX hosts in preference order, retries with back-off on
 * 4xx and connection errors, bounces (RFC 3464) on 5xx or expiry.
 */
export class QueueWorker {
  readonly #o: QueueWorkerOptions;
  readonly #id = `${osHostname()}:${process.pid}`;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(options: QueueWorkerOptions) {
    this.#o = options;
  }

  get #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  start(): void {
    this.#stopped = false;
    this.#o.queue.onEnqueue(() => this.kick());
    this.kick();
  }

  /** Runs a pass now (or right after the current one). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.runOnce()
      .then(
        () => undefined,
        (err: Error) => this.#o.logger.error({ err: err.message }, 'queue pass failed'),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else this.#timer = setTimeout(() => this.kick(), this.#o.pollMs);
      });
  }

  /**
   * Stops polling and waits a little for the attempt in flight. A delivery still running after
   * that keeps its lease until it expires; the recipient is then tried again, never lost.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /** One pass over due recipients; returns how many batches were attempted. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const lease = this.#o.timeoutMs * 6 + 60_000;
      const batches = await this.#o.queue.claim(this.#id, this.#o.concurrency * 20, lease);
      if (!batches.length) return total;
      total += batches.length;
      let next = 0;
      const lanes = Array.from({ length: Math.min(this.#o.concurrency, batches.length) }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          await this.#attempt(batch).catch((err: Error) =>
            this.#o.logger.error({ err: err.message, queueId: batch.messageId }, 'queue delivery attempt failed'),
          );
        }
      });
      await Promise.all(lanes);
      if (this.#stopped) return total;
    }
  }

  async #hops(domain: string): Promise<Hops> {
    const o = this.#o;
    const common = { heloName: o.hostname, timeoutMs: o.timeoutMs };
    if (o.smarthost) {
      const s = o.smarthost;
      return {
        hops: [
          {
            ...common,
            host: s.host,
            port: s.port,
            tls: s.tls,
            verify: s.tls !== 'none',
            ...(s.ca ? { ca: s.ca } : {}),
            ...(s.auth ? { auth: s.auth } : {}),
          },
        ],
      };
    }
    const route = await resolveRoute(domain, { routes: o.routes, port: o.port, ...(o.resolveMx ? { resolveMx: o.resolveMx } : {}) });
    if (route.kind === 'permanent') return { outcome: { kind: 'failed', error: route.error, status: route.status } };
    if (route.kind === 'temporary') return { outcome: { kind: 'deferred', error: route.error } };
    const ca = o.mxCa ? { ca: [...o.mxCa] } : {};
    const hops = route.hops.map((h) => ({
      ...common,
      ...ca,
      host: h.host,
      port: h.port,
      tls: 'opportunistic' as const,
      verify: o.verifyMxTls,
    }));
    const routed = o.routes.has(domain.toLowerCase()) || o.routes.has('*');
    if (o.dane && !routed) {
      const withDane = await this.#dane(o.dane, domain, hops);
      if (withDane) return withDane;
    }
    const policy = o.mtaSts && !routed ? await o.mtaSts.policy(domain) : undefined;
    if (!policy || policy.mode === 'none') return { hops, policy: { type: 'no-policy-found', strings: [] } };
    const sts: TlsPolicyUsed = {
      type: 'sts',
      strings: ['version: STSv1', `mode: ${policy.mode}`, ...policy.mx.map((m) => `mx: ${m}`), `max_age: ${policy.maxAge}`],
      mxHost: policy.mx,
    };
    const matching = hops.filter((h) => policy.mx.some((p) => mxMatches(p, h.host)));
    if (policy.mode === 'testing') {
      // RFC 8461 §5: testing policies are reported, never enforced.
      if (matching.length < hops.length) o.logger.info({ domain, policy: policy.id }, 'MTA-STS (testing): an MX host is not in the policy');
      return { hops, policy: sts };
    }
    // RFC 8461 §4.2, §5: enforce means only listed MX hosts, STARTTLS required, certificates verified.
    if (!matching.length)
      return {
        outcome: { kind: 'deferred', error: `MTA-STS policy ${policy.id} of ${domain} (enforce) lists none of its MX hosts` },
        policy: sts,
        failure: 'validation-failure',
      };
    return { hops: matching.map((h) => ({ ...h, tls: 'starttls' as const, verify: true })), policy: sts };
  }

  /**
   * RFC 7672 §2.2: with a validated MX RRset, each MX host's validated TLSA records decide its TLS:
   * usable records → STARTTLS and a matching certificate; unusable ones → STARTTLS unauthenticated;
   * none → as without DANE; a failed lookup → that host is skipped (the mail waits, never goes in
   * the clear). Undefined when DANE does not apply, so MTA-STS may (RFC 8461 §2).
   */
  async #dane(dane: DaneLookups, domain: string, hops: HopOptions[]): Promise<Hops | undefined> {
    if (!(await dane.mxSecure(domain))) return undefined;
    const lookups = await Promise.all(hops.map((h) => dane.tlsa(h.host, h.port)));
    if (lookups.every((l) => l.kind === 'none')) return undefined;
    const strings = lookups.flatMap((l) =>
      l.kind === 'dane' ? l.records.map((r) => `${r.usage} ${r.selector} ${r.matching} ${r.data.toString('hex')}`) : [],
    );
    const policy: TlsPolicyUsed = { type: 'tlsa', strings };
    const usable: HopOptions[] = [];
    const errors: string[] = [];
    hops.forEach((h, i) => {
      const l = lookups[i]!;
      if (l.kind === 'error') errors.push(l.error);
      else if (l.kind === 'dane')
        usable.push({ ...h, tls: 'starttls', verify: false, dane: { records: l.records, names: [h.host, domain] } });
      else if (l.kind === 'unusable') usable.push({ ...h, tls: 'starttls', verify: false });
      else usable.push(h);
    });
    if (!usable.length) return { outcome: { kind: 'deferred', error: `DANE: ${errors.join('; ')}` }, policy, failure: 'tlsa-invalid' };
    return { hops: usable, policy };
  }

  /** The hop with the address its name resolves to through the queue's resolver (first A record). */
  async #address(hop: HopOptions): Promise<HopOptions> {
    if (!this.#o.resolveAddress || isIP(hop.host)) return hop;
    const addresses = await this.#o.resolveAddress(hop.host).catch(() => []);
    return addresses[0] ? { ...hop, address: addresses[0] } : hop;
  }

  async #attempt(batch: ClaimedBatch): Promise<void> {
    const o = this.#o;
    const outcomes = new Map<string, RecipientOutcome>();
    {
      const route = await this.#hops(batch.domain);
      const report = (failure: string | undefined, receivingMx?: string) => {
        if (route.policy && o.tlsResult)
          o.tlsResult({
            domain: batch.domain,
            policy: route.policy,
            ...(failure ? { failure } : {}),
            ...(receivingMx ? { receivingMx } : {}),
          });
      };
      if ('outcome' in route) {
        for (const r of batch.recipients) outcomes.set(r.recipient, route.outcome);
        if (route.failure) report(route.failure);
      } else {
        const message = await o.queue.readMessage(batch.blobId);
        const eightBit = message.some((b) => b > 0x7f);
        let pending = batch.recipients.map((r) => r.recipient);
        for (const plain of route.hops) {
          const hop = await this.#address(plain);
          const result = await deliverToHop(hop, { sender: batch.sender, recipients: pending, size: batch.size, eightBit }, message);
          if (result.tlsFailure) report(result.tlsFailure, hop.host);
          else if (!result.hopFailed) report(undefined, hop.host);
          for (const [rcpt, outcome] of result.outcomes) outcomes.set(rcpt, outcome);
          if (!result.hopFailed) break;
          pending = pending.filter((r) => outcomes.get(r)?.kind === 'deferred');
          if (!pending.length) break;
        }
      }
    }
    const failed: FailedRecipient[] = [];
    const now = this.#now;
    for (const r of batch.recipients) {
      const outcome = outcomes.get(r.recipient) ?? { kind: 'deferred', error: 'no answer for this recipient' };
      if (outcome.kind === 'sent') {
        await o.queue.markSent(r.id, outcome.response);
        o.logger.info({ queueId: batch.messageId, to: r.recipient, host: outcome.host }, 'delivered');
        continue;
      }
      // The last attempt happens at expiry (see below); if it is deferred too, the message bounces.
      const expired = outcome.kind === 'deferred' && now >= batch.expiresAt;
      if (outcome.kind === 'failed' || expired) {
        const status = outcome.kind === 'failed' ? outcome.status : '4.4.7';
        const error = outcome.kind === 'failed' ? outcome.error : `delivery time expired; last error: ${outcome.error}`;
        await o.queue.markFailed(r.id, error);
        failed.push({
          recipient: r.recipient,
          status,
          diagnostic: error,
          ...(outcome.host ? { remoteMta: outcome.host } : {}),
          lastAttemptAt: now,
        });
        o.logger.warn({ queueId: batch.messageId, to: r.recipient, status }, 'delivery failed permanently');
        continue;
      }
      const next = now + retryDelay(r.attempts + 1, o.retryInitialMs, o.retryMaxMs);
      await o.queue.markDeferred(r.id, outcome.error, Math.min(next, batch.expiresAt));
      o.logger.info({ queueId: batch.messageId, to: r.recipient, error: outcome.error }, 'delivery deferred');
    }
    if (failed.length && batch.sender) {
      const original = await o.queue.readMessage(batch.blobId);
      const report = buildBounce({ hostname: o.hostname, sender: batch.sender, original, arrivedAt: batch.createdAt, failed, now });
      await o.bounce(batch.sender, report);
    }
    await o.queue.finishIfDone(batch.messageId);
  }
}
