import { Counter, type Registry } from 'prom-client';
import type { BaselineMetrics } from './baseline.ts';
import type { SmtpSessionMetrics } from './session.ts';

/**
 * Prometheus counters of the SMTP listeners: unknown recipients, the limits they trip, deliveries
 * that waited for memory, DNS blocklist lookups (RFC 5782) and greylisting verdicts (RFC 6647).
 */
export class SmtpMetrics implements SmtpSessionMetrics, BaselineMetrics {
  readonly #dnsbl: Counter<'result' | 'zone'>;
  readonly #greylist: Counter<'result'>;
  readonly #unknown: Counter<'listener'>;
  readonly #limits: Counter<'listener' | 'limit'>;
  readonly #waits: Counter<'listener'>;

  constructor(registry: Registry) {
    this.#unknown = new Counter({
      name: 'fingerpost_smtp_unknown_recipients_total',
      help: 'RCPT TO for local addresses that do not exist, answered 550 5.1.1 after a pause',
      labelNames: ['listener'] as const,
      registers: [registry],
    });
    this.#limits = new Counter({
      name: 'fingerpost_smtp_limit_reached_total',
      help: 'SMTP sessions closed with 421 by a limit: smtp.max_unknown_recipients (unknown_recipients) or a client banned by auth.limits (client_banned)',
      labelNames: ['listener', 'limit'] as const,
      registers: [registry],
    });
    this.#waits = new Counter({
      name: 'fingerpost_smtp_delivery_waits_total',
      help: 'Received messages that waited on disk for room in smtp.delivery_memory before delivery',
      labelNames: ['listener'] as const,
      registers: [registry],
    });
    this.#dnsbl = new Counter({
      name: 'fingerpost_smtp_dnsbl_total',
      help: 'MX clients looked up in inbound.dnsbl_zones at MAIL FROM: listed (refused 554, with the zone), clean, error (no zone answered), allowed (inbound.client_allow)',
      labelNames: ['result', 'zone'] as const,
      registers: [registry],
    });
    this.#greylist = new Counter({
      name: 'fingerpost_smtp_greylist_total',
      help: 'Greylisting verdicts at RCPT TO: delayed (451 4.7.1), passed, allowed (an allow list skipped it)',
      labelNames: ['result'] as const,
      registers: [registry],
    });
  }

  dnsbl(result: 'listed' | 'clean' | 'error' | 'allowed', zone = ''): void {
    this.#dnsbl.inc({ result, zone });
  }

  greylist(result: 'delayed' | 'passed' | 'allowed'): void {
    this.#greylist.inc({ result });
  }

  deliveryWaited(listener: string): void {
    this.#waits.inc({ listener });
  }

  unknownRecipient(listener: string): void {
    this.#unknown.inc({ listener });
  }

  limitReached(listener: string, limit: 'unknown_recipients' | 'client_banned'): void {
    this.#limits.inc({ listener, limit });
  }
}
