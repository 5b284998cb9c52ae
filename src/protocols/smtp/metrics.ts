import { Counter, type Registry } from 'prom-client';
import type { SmtpSessionMetrics } from './session.ts';

/** Prometheus counters of the SMTP listeners: unknown recipients, the limits they trip, deliveries that waited for memory. */
export class SmtpMetrics implements SmtpSessionMetrics {
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
