import type { CalendarService } from '../calendar/service.ts';
import type { Calendar } from '../calendar/store.ts';
import { feedUrl } from '../calendar/subscriptions.ts';
import { FingerpostError } from '../core/errors.ts';

/**
 * Makes `name` of an account mirror an external iCalendar feed (RFC 5545 over webcal/https): a new
 * calendar, or an existing one that is empty or already a subscription; the feed URL normalised by
 * `feedUrl`. Returns the calendar (fetch it with SubscriptionRefresher). Shared by the admin CLI
 * and the account page.
 */
export async function subscribeFeed(
  calendar: CalendarService,
  input: { accountId: number; name: string; url: string; intervalMs: number; timezone: string },
): Promise<Calendar> {
  const sub = { url: feedUrl(input.url), intervalMs: input.intervalMs };
  const existing = await calendar.store.getCalendar(input.accountId, input.name);
  if (existing) {
    if (!existing.subscription && (await calendar.store.listObjects(existing.id)).length > 0)
      throw new FingerpostError('already_exists', `calendar ${input.name} holds events; subscribe another calendar`);
    await calendar.store.updateCalendar(existing.id, { subscription: sub });
  } else {
    await calendar.store.createCalendar(input.accountId, { name: input.name, timezone: input.timezone, subscription: sub });
  }
  return (await calendar.store.getCalendar(input.accountId, input.name))!;
}

/** The calendars of an account that mirror a feed. */
export async function feedsOf(calendar: CalendarService, accountId: number): Promise<Calendar[]> {
  return (await calendar.store.listCalendars(accountId)).filter((c) => c.subscription);
}
