import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseInstant, parseRange } from '../calendar/range.ts';
import { freeBusyIcs, freeBusyJson } from '../calendar/render.ts';
import { DEFAULT_CALENDAR, type CalendarService } from '../calendar/service.ts';
import { createCalendarService, createOutbound } from '../calendar/setup.ts';
import { parseSharingRule, type SharingRule } from '../calendar/sharing.ts';
import type { Calendar } from '../calendar/store.ts';
import { SubscriptionRefresher } from '../calendar/subscriptions.ts';
import { subscribeFeed } from '../admin/calendar-feeds.ts';
import { parseDuration } from '../config/duration.ts';
import { parseDomain } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import type { DirectoryAccount } from '../directory/directory.ts';
import type { Services } from '../main.ts';
import { action, configFrom, printTable, type StoreOptions, withStoreOptions } from './common.ts';
import { openCliServices } from './services.ts';

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

type Ctx = { s: Services; calendar: CalendarService };

async function withCalendar(opts: StoreOptions, fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const s = await openCliServices(configFrom(opts));
  try {
    await fn({ s, calendar: createCalendarService(s.config, s.db, s.directory) });
  } finally {
    await s.close();
  }
}

async function account(s: Services, address: string): Promise<DirectoryAccount> {
  const a = await s.directory.findByAddress(address);
  if (!a) throw new FingerpostError('not_found', `no account ${address}`, { hint: 'list accounts with: fingerpost admin user list' });
  return a;
}

async function calendarOf(c: CalendarService, a: DirectoryAccount, name: string): Promise<Calendar> {
  const cal = await c.store.getCalendar(a.id, name);
  if (!cal)
    throw new FingerpostError('not_found', `${a.address} has no calendar ${name}`, {
      hint: `list them with: fingerpost admin calendar list ${a.address}`,
    });
  return cal;
}

function interval(text: string | undefined, s: Services): number {
  const min = s.config.calendar.subscription_min_interval;
  if (text === undefined) return s.config.calendar.subscription_interval;
  const ms = parseDuration(text);
  if (ms === undefined || ms < min)
    throw new FingerpostError(
      'invalid_argument',
      `--every ${text}: expected a duration of at least ${Math.round(min / 60_000)} minutes (calendar.subscription_min_interval)`,
    );
  return ms;
}

function instant(name: string, text: string): string {
  // The CLI also takes a plain date (midnight UTC).
  const value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  if (parseInstant(value) === undefined)
    throw new FingerpostError(
      'invalid_argument',
      `${name} ${text}: expected a date (2026-11-02), RFC 3339 with a zone, or 20261102T090000Z`,
    );
  return value;
}

function ruleFrom(opts: { policy: string; allow?: string }): SharingRule {
  return parseSharingRule({
    policy: opts.policy,
    allow: (opts.allow ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  });
}

function printRule(label: string, rule: SharingRule | undefined, source?: string): void {
  if (!rule) process.stdout.write(`${label}: (none)\n`);
  else
    process.stdout.write(
      `${label}: ${rule.policy}${rule.allow.length ? ` allow ${rule.allow.join(',')}` : ''}${source ? ` (from ${source})` : ''}\n`,
    );
}

/** `fingerpost admin calendar …`: calendars, imports, subscriptions, free/busy sharing. */
export function registerAdminCalendar(admin: Command): void {
  const calendar = admin.command('calendar').description('calendars, iCalendar import, subscriptions and free/busy sharing');
  const cmd = (parent: Command, name: string, description: string) => withStoreOptions(parent.command(name).description(description));

  cmd(calendar, 'import', 'import an iCalendar file (- for stdin) into a calendar; all or nothing, matched by UID')
    .argument('<address>')
    .argument('<file>')
    .option('--calendar <name>', 'calendar to import into (created if missing)', DEFAULT_CALENDAR)
    .action(
      action(async (address: string, file: string, opts: StoreOptions & { calendar: string }) => {
        const text =
          file === '-'
            ? await readStdin()
            : await readFile(file, 'utf8').catch((err) => {
                throw new FingerpostError(
                  'invalid_argument',
                  `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err.message})`,
                );
              });
        await withCalendar(opts, async ({ s, calendar: c }) => {
          const r = await c.importIcs(await account(s, address), opts.calendar, text);
          process.stdout.write(
            `imported ${r.objects} objects into ${address}/${r.calendar}: ${r.created} new, ${r.updated} changed, ${r.unchanged} unchanged\n`,
          );
          for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        });
      }),
    );

  cmd(calendar, 'list', "list an account's calendars")
    .argument('<address>')
    .action(
      action(async (address: string, opts: StoreOptions) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const a = await account(s, address);
          const rows = [];
          for (const cal of await c.store.listCalendars(a.id)) {
            const objects = await c.store.listObjects(cal.id);
            const sub = cal.subscription;
            rows.push([
              cal.name,
              String(objects.length),
              cal.timezone,
              cal.includeInFreeBusy ? 'yes' : 'no',
              sub
                ? `${sub.url} every ${Math.round(sub.intervalMs / 60_000)}m, last ${iso(sub.lastRefreshAt)}${sub.lastError ? ` (error: ${sub.lastError})` : ''}`
                : '-',
            ]);
          }
          printTable(['CALENDAR', 'OBJECTS', 'TIMEZONE', 'FREEBUSY', 'SUBSCRIPTION'], rows);
        }),
      ),
    );

  cmd(calendar, 'create', 'create a calendar')
    .argument('<address>')
    .argument('<name>')
    .option('--timezone <zone>', 'IANA zone for floating times and all-day events (default calendar.default_timezone)')
    .option('--display-name <text>', 'name shown to people')
    .action(
      action(async (address: string, name: string, opts: StoreOptions & { timezone?: string; displayName?: string }) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const a = await account(s, address);
          const cal = await c.store.createCalendar(a.id, {
            name,
            displayName: opts.displayName,
            timezone: s.config.calendar.default_timezone,
          });
          if (opts.timezone) await c.setTimezone(cal, opts.timezone);
          process.stdout.write(`created calendar ${address}/${name}\n`);
        }),
      ),
    );

  cmd(calendar, 'set', "change a calendar's time zone or whether it counts for free/busy")
    .argument('<address>')
    .argument('<name>')
    .option('--timezone <zone>', 'IANA zone; its events are re-indexed')
    .option('--freebusy <on|off>', 'whether its events block time in free/busy')
    .action(
      action(async (address: string, name: string, opts: StoreOptions & { timezone?: string; freebusy?: string }) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const cal = await calendarOf(c, await account(s, address), name);
          if (opts.freebusy !== undefined) {
            if (!/^(on|off)$/.test(opts.freebusy)) throw new FingerpostError('invalid_argument', '--freebusy takes on or off');
            await c.store.updateCalendar(cal.id, { includeInFreeBusy: opts.freebusy === 'on' });
          }
          if (opts.timezone) await c.setTimezone(cal, opts.timezone);
          process.stdout.write(`updated calendar ${address}/${name}\n`);
        }),
      ),
    );

  cmd(calendar, 'remove', 'delete a calendar and its events')
    .argument('<address>')
    .argument('<name>')
    .action(
      action(async (address: string, name: string, opts: StoreOptions) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          if (!(await c.store.removeCalendar((await account(s, address)).id, name)))
            throw new FingerpostError('not_found', `${address} has no calendar ${name}`);
          process.stdout.write(`removed calendar ${address}/${name}\n`);
        }),
      ),
    );

  cmd(calendar, 'subscribe', 'make a calendar mirror an external ICS feed (webcal://, https://), refreshed on a schedule')
    .argument('<address>')
    .argument('<name>')
    .argument('<url>')
    .option('--every <duration>', 'refresh interval (default calendar.subscription_interval)')
    .option('--no-fetch', 'do not fetch it now')
    .action(
      action(async (address: string, name: string, url: string, opts: StoreOptions & { every?: string; fetch: boolean }) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const a = await account(s, address);
          const cal = await subscribeFeed(c, {
            accountId: a.id,
            name,
            url,
            intervalMs: interval(opts.every, s),
            timezone: s.config.calendar.default_timezone,
          });
          const sub = cal.subscription!;
          process.stdout.write(`${address}/${name} mirrors ${sub.url} every ${Math.round(sub.intervalMs / 60_000)}m\n`);
          if (opts.fetch) await refreshNow(s, c, cal);
        }),
      ),
    );

  cmd(calendar, 'refresh', 'fetch a subscribed calendar now')
    .argument('<address>')
    .argument('<name>')
    .action(
      action(async (address: string, name: string, opts: StoreOptions) =>
        withCalendar(opts, async ({ s, calendar: c }) => refreshNow(s, c, await calendarOf(c, await account(s, address), name))),
      ),
    );

  cmd(calendar, 'freebusy', "print an account's free/busy (what its owner sees)")
    .argument('<address>')
    .requiredOption('--from <time>', 'start: 2026-11-02, 2026-11-02T09:00:00Z or 20261102T090000Z')
    .requiredOption('--to <time>', 'end (exclusive)')
    .option('--format <ics|json|table>', 'output format', 'table')
    .action(
      action(async (address: string, opts: StoreOptions & { from: string; to: string; format: string }) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const range = parseRange(instant('--from', opts.from), instant('--to', opts.to), c.settings.maxRangeMs);
          const fb = await c.freeBusy(await account(s, address), range);
          if (opts.format === 'ics') process.stdout.write(freeBusyIcs(fb, Date.now()));
          else if (opts.format === 'json') process.stdout.write(`${JSON.stringify(freeBusyJson(fb), null, 2)}\n`);
          else {
            printTable(
              ['START', 'END', 'TYPE'],
              fb.busy.map((p) => [iso(p.start), iso(p.end), p.type]),
            );
            if (fb.truncated) process.stderr.write('note: a recurrence was cut off at calendar.max_instances\n');
          }
        }),
      ),
    );

  const sharing = calendar.command('sharing').description('who may see free/busy: nobody (default), list, domain, anyone');
  cmd(sharing, 'show', "an account's rule and where it comes from")
    .argument('<address>')
    .action(
      action(async (address: string, opts: StoreOptions) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const { rule, source } = await c.effectiveRule(await account(s, address));
          printRule(address, rule, source);
        }),
      ),
    );
  cmd(sharing, 'set', "set an account's rule")
    .argument('<address>')
    .requiredOption('--policy <policy>', 'nobody | list | contacts | domain | anyone')
    .option('--allow <list>', 'comma-separated addresses and domains (for list, and added to domain)')
    .action(
      action(async (address: string, opts: StoreOptions & { policy: string; allow?: string }) => {
        const rule = ruleFrom(opts);
        await withCalendar(opts, async ({ s, calendar: c }) => {
          await c.store.setSharing((await account(s, address)).id, rule);
          printRule(address, rule, 'account');
        });
      }),
    );
  cmd(sharing, 'clear', "remove an account's own rule (the domain default applies)")
    .argument('<address>')
    .action(
      action(async (address: string, opts: StoreOptions) =>
        withCalendar(opts, async ({ s, calendar: c }) => {
          const a = await account(s, address);
          await c.store.clearSharing(a.id);
          const { rule, source } = await c.effectiveRule(a);
          printRule(address, rule, source);
        }),
      ),
    );
  cmd(sharing, 'default', "show or set a domain's default rule")
    .argument('<domain>')
    .option('--policy <policy>', 'nobody | list | contacts | domain | anyone')
    .option('--allow <list>', 'comma-separated addresses and domains')
    .option('--clear', 'remove the default (nobody applies)')
    .action(
      action(async (domain: string, opts: StoreOptions & { policy?: string; allow?: string; clear?: boolean }) => {
        const name = parseDomain(domain);
        const rule = opts.policy ? ruleFrom({ policy: opts.policy, allow: opts.allow }) : undefined;
        await withCalendar(opts, async ({ calendar: c }) => {
          if (opts.clear || rule) await c.setDomainDefault(name, opts.clear ? undefined : rule);
          printRule(`${name} default`, await c.domainDefault(name));
        });
      }),
    );
}

async function refreshNow(s: Services, c: CalendarService, cal: Calendar): Promise<void> {
  const r = await new SubscriptionRefresher({ service: c, outbound: createOutbound(s.config) }).refresh(cal);
  if (r.status === 'failed')
    throw new FingerpostError('unavailable', `refreshing ${cal.name} failed: ${r.detail}`, {
      hint: 'the last good copy is kept; the server retries on schedule',
    });
  process.stdout.write(`${cal.name}: ${r.status} (${r.detail})\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
