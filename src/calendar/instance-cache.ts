import type { Expansion } from './expand.ts';
import type { TimeRange } from './freebusy.ts';

/**
 * Expanded instances of recurring objects per calendar month (UTC), kept between queries: walking a
 * recurrence with ical.js is the expensive part of free/busy, and people ask about the same weeks
 * again and again. An entry is valid while the object's ETag and the calendar's zone are unchanged.
 */
export class InstanceCache {
  readonly #max: number;
  readonly #entries = new Map<string, { etag: string; zone: string; expansion: Expansion }>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get(id: number, etag: string, zone: string, month: TimeRange): Expansion | undefined {
    const key = `${id}:${month.start}`;
    const hit = this.#entries.get(key);
    if (!hit || hit.etag !== etag || hit.zone !== zone) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit.expansion;
  }

  set(id: number, etag: string, zone: string, month: TimeRange, expansion: Expansion): void {
    this.#entries.set(`${id}:${month.start}`, { etag, zone, expansion });
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/** The UTC calendar months `range` touches, each as [first instant, first instant of the next month). */
export function monthsOf(range: TimeRange): TimeRange[] {
  const out: TimeRange[] = [];
  const d = new Date(range.start);
  let start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  while (start < range.end) {
    const m = new Date(start);
    const end = Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1);
    out.push({ start, end });
    start = end;
  }
  return out;
}
