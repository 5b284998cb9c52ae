import { Counter, type Registry } from 'prom-client';

/**
 * How often a JMAP limit refused something (RFC 8620 §8.5), by the limit's name as the client
 * is told it (`maxSizeRequest`, `maxSizeResponse`, `maxCallsInRequest`, `maxConcurrentRequests`,
 * …), for `/metrics`.
 */
export function limitCounter(registry: Registry | undefined): (limit: string) => void {
  const name = 'fingerpost_jmap_limit_refusals_total';
  const existing = registry?.getSingleMetric(name) as Counter<'limit'> | undefined;
  const counter =
    existing ??
    new Counter({
      name,
      help: 'JMAP requests, method calls and uploads refused by a limit, by limit name',
      labelNames: ['limit'] as const,
      registers: registry ? [registry] : [],
    });
  return (limit) => counter.inc({ limit });
}
