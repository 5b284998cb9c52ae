import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { FingerpostError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { SqlDirectory } from '../directory/sql.ts';
import type { Db } from '../store/db.ts';
import { OutboundHttp, parseResolveEntries } from './outbound.ts';
import { type CalendarSettings, CalendarService } from './service.ts';
import { CalendarStore } from './store.ts';

/** The `[calendar]` limits as the service uses them. */
export function calendarSettings(config: Config): CalendarSettings {
  const c = config.calendar;
  return { maxRangeMs: c.max_range, maxInstances: c.max_instances, defaultTimezone: c.default_timezone, maxIcsBytes: c.max_ics_bytes };
}

/** The calendar service over the store (what `main.ts` and the admin CLI use). */
export function createCalendarService(config: Config, db: Db, directory: SqlDirectory, logger?: Logger): CalendarService {
  return new CalendarService({
    store: new CalendarStore(db),
    directory,
    settings: calendarSettings(config),
    logger: logger?.child({ component: 'calendar' }),
  });
}

/** The SSRF-guarded outbound client configured by `calendar.allow_private_addresses`, `resolve`, `ca_file`. */
export function createOutbound(config: Config): OutboundHttp {
  const c = config.calendar;
  let extraCa: string | undefined;
  if (c.ca_file) {
    try {
      extraCa = readFileSync(c.ca_file, 'utf8');
    } catch (err) {
      throw new FingerpostError(
        'config_invalid',
        `config key calendar.ca_file: cannot read ${c.ca_file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  return new OutboundHttp({
    allowPrivate: c.allow_private_addresses,
    resolve: parseResolveEntries(c.resolve),
    extraCa,
    timeoutMs: c.fetch_timeout,
    userAgent: `Fingerpost (+${config.publicUrl})`,
  });
}
