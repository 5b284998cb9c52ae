import { FingerpostError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { OutboundError, type OutboundHttp } from './outbound.ts';
import type { CalendarService } from './service.ts';
import type { Calendar } from './store.ts';

/**
 * Calendars that mirror an external ICS feed (webcal/https/http): fetched through the SSRF guard,
 * validated as a whole, and swapped in all at once; a bad fetch or bad data keeps the last good copy.
 */

export interface RefreshOutcome {
  readonly status: 'updated' | 'unchanged' | 'failed';
  readonly detail: string;
}

/** Normalises a feed URL: `webcal://` is HTTPS (the de-facto scheme of calendar subscriptions). */
export function feedUrl(input: string): string {
  const raw = input.trim().replace(/^webcals?:\/\//i, 'https://');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new FingerpostError('invalid_argument', `"${input.slice(0, 100)}" is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new FingerpostError('invalid_argument', 'a feed URL must be webcal://, https:// or http://');
  if (u.username || u.password) throw new FingerpostError('invalid_argument', 'a feed URL must not carry credentials');
  return u.toString();
}

/** Fetches subscribed feeds now (`refresh`) or on their schedule (`start`). */
export class SubscriptionRefresher {
  readonly #service: CalendarService;
  readonly #outbound: OutboundHttp;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;

  constructor(deps: { service: CalendarService; outbound: OutboundHttp; logger?: Logger; now?: () => number }) {
    this.#service = deps.service;
    this.#outbound = deps.outbound;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
  }

  /** Fetches one subscribed calendar now and records the outcome on it. */
  async refresh(calendar: Calendar): Promise<RefreshOutcome> {
    const sub = calendar.subscription;
    if (!sub) return { status: 'failed', detail: `calendar ${calendar.name} is not a subscription` };
    const nextAt = this.#now() + sub.intervalMs;
    try {
      const res = await this.#outbound.get(sub.url, {
        maxBytes: this.#service.settings.maxIcsBytes,
        maxRedirects: 3,
        headers: { accept: 'text/calendar', ...(sub.etag ? { 'if-none-match': sub.etag } : {}) },
      });
      if (res.status === 304) {
        await this.#service.store.recordRefresh(calendar.id, { error: null, nextAt });
        return { status: 'unchanged', detail: 'not modified' };
      }
      if (res.status !== 200) throw new OutboundError('status', `the feed answered HTTP ${res.status}`);
      const text = new TextDecoder('utf-8', { fatal: true }).decode(res.body);
      const r = await this.#service.replaceFromFeed(calendar, text);
      const etag = typeof res.headers.etag === 'string' ? res.headers.etag : null;
      await this.#service.store.recordRefresh(calendar.id, { error: null, etag, nextAt });
      const detail = `${r.created} new, ${r.updated} changed, ${r.unchanged} unchanged, ${r.removed} removed${r.warnings.length ? `; ${r.warnings.join('; ')}` : ''}`;
      this.#logger?.info(
        { calendar: calendar.id, url: sub.url, created: r.created, updated: r.updated, removed: r.removed },
        'calendar feed refreshed',
      );
      return { status: 'updated', detail };
    } catch (err) {
      const detail = err instanceof TypeError ? 'the feed is not UTF-8 text' : (err as Error).message;
      await this.#service.store.recordRefresh(calendar.id, { error: detail.slice(0, 500), nextAt });
      this.#logger?.warn(
        { calendar: calendar.id, url: sub.url, reason: detail },
        'calendar feed refresh failed; keeping the last good copy',
      );
      return { status: 'failed', detail };
    }
  }

  /** Refreshes due subscriptions every `pollMs` (claimed in the store, so nodes share the work). Returns stop. */
  start(pollMs: number): () => Promise<void> {
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    const tick = async () => {
      try {
        for (;;) {
          const due = await this.#service.store.claimDueSubscriptions(5);
          if (due.length === 0 || stopped) break;
          for (const c of due) if (!stopped) await this.refresh(c);
        }
        await this.#service.store.pruneAssertions();
      } catch (err) {
        this.#logger?.warn({ err: (err as Error).message }, 'calendar subscription poll failed');
      }
    };
    const timer = setInterval(() => {
      running = running.then(tick);
    }, pollMs);
    timer.unref();
    running = running.then(tick);
    return async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    };
  }
}
