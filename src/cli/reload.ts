import type { Config } from '../config/config.ts';
import type { Logger } from '../core/log.ts';
import type { RunningServer } from '../main.ts';

/**
 * Configuration keys a running server applies on SIGHUP (docs/configuration.md, "Reloading"):
 * they are read per connection or per log line, so a change takes effect for what comes next.
 * Every other key is read once at start and is reported as needing a restart.
 */
export const LIVE_KEYS: ReadonlySet<string> = new Set([
  'log.level',
  'limits.connections_total',
  'limits.connections_per_ip',
  'limits.prelogin_share',
  'limits.drain_timeout',
  // For connections accepted after the reload (src/net/listener.ts `setTimeouts`); open ones keep theirs.
  'limits.idle_timeout',
  'limits.prelogin_timeout',
  'smtp.idle_timeout',
  'auth.issuers',
]);

/** `section.key` of every key whose value differs between `a` and `b` (derived values by their own name). */
export function changedKeys(a: Config, b: Config): string[] {
  const out: string[] = [];
  const sections = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const section of sections) {
    const x = (a as unknown as Record<string, unknown>)[section];
    const y = (b as unknown as Record<string, unknown>)[section];
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of keys)
        if (JSON.stringify((x as Record<string, unknown>)[k]) !== JSON.stringify((y as Record<string, unknown>)[k]))
          out.push(`${section}.${k}`);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(section);
  }
  return out;
}

/**
 * SIGHUP: applies the live keys of `next` to the running server and logs the keys that changed
 * but need a restart. `started` is the configuration the server started with. Returns what was applied.
 */
export function reloadConfig(
  started: Config,
  next: Config,
  server: RunningServer,
  logger: Logger,
): { applied: string[]; restart: string[] } {
  const changed = changedKeys(started, next);
  const applied = changed.filter((k) => LIVE_KEYS.has(k));
  const restart = changed.filter((k) => !LIVE_KEYS.has(k));
  server.reconfigure(next);
  if (applied.length) logger.info({ keys: applied }, 'configuration reloaded');
  if (restart.length) logger.warn({ keys: restart }, 'configuration changed but needs restart to take effect');
  if (!changed.length) logger.info('configuration reloaded; nothing changed');
  return { applied, restart };
}
