import { Counter, type Registry } from 'prom-client';
import type { SmtpSessionMetrics } from './session.ts';

/** Prometheus counters of the SMTP listeners: unknown recipients and the limits they trip. */
export class SmtpMetrics implements SmtpSessionMetrics {
  readonly #unknown: Counter<'listener'>;
  readonly #limits: Counter<'listener' | 'limit'>;

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
  }

  unknownRecipient(listener: string): void {
    this.#unknown.inc({ listener });
  }

  limitReached(listener: string, limit: 'unknown_recipients' | 'client_banned'): void {
    this.#limits.inc({ listener, limit });
  }
}
