import type { FastifyInstance, FastifyReply } from 'fastify';
import { feedsOf, subscribeFeed } from '../admin/calendar-feeds.ts';
import { createOutbound } from '../calendar/setup.ts';
import { SubscriptionRefresher } from '../calendar/subscriptions.ts';
import { WindowLimiter } from '../idp/rate-limit.ts';
import { done, formOf, outcome, problemText, type Signed, signedIn, type WebDeps } from './context.ts';
import { csrfField, html, page, sendHtml, when } from './page.ts';
import type { WebSessions } from './session.ts';

const INTERVALS: ReadonlyArray<readonly [string, number, string]> = [
  ['1h', 3_600_000, 'Every hour'],
  ['6h', 6 * 3_600_000, 'Every 6 hours'],
  ['24h', 24 * 3_600_000, 'Once a day'],
];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Calendar feeds on the account page: subscribe a calendar to an external iCalendar feed
 * (webcal/https, fetched through the SSRF-guarded outbound client), refresh one now, remove one;
 * the same use cases as `fingerpost admin calendar subscribe|refresh` (src/admin/calendar-feeds.ts).
 */
export function registerCalendarRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const refresher = new SubscriptionRefresher({ service: deps.calendar, outbound: createOutbound(deps.config), logger: deps.logger });
  // Fetches on demand are outbound requests: a few per account and window.
  const fetches = new WindowLimiter({ limit: 10, windowMs: 15 * 60_000 });

  const show = async (reply: FastifyReply, s: Signed, status: number, top: string) => {
    const feeds = await feedsOf(deps.calendar, s.account.id);
    const csrf = s.viewer.csrf;
    const rows = feeds.map((c) => {
      const sub = c.subscription!;
      const name = encodeURIComponent(c.name);
      return `<tr><td>${html(c.displayName || c.name)}</td><td><code>${html(sub.url)}</code></td><td>${Math.round(sub.intervalMs / 60_000)} min</td>
<td>${sub.lastRefreshAt ? when(sub.lastRefreshAt) : 'Not yet'}${sub.lastError ? `<br><span class="note">Failed: ${html(sub.lastError)}</span>` : ''}</td>
<td><div class="row"><form method="post" action="/account/calendars/${name}/refresh">${csrfField(csrf)}<button class="small" type="submit" aria-label="Refresh ${html(c.name)}">Refresh</button></form>
<form method="post" action="/account/calendars/${name}/remove">${csrfField(csrf)}<button class="danger small" type="submit" aria-label="Remove ${html(c.name)}">Remove</button></form></div></td></tr>`;
    });
    const options = INTERVALS.filter(([, ms]) => ms >= deps.config.calendar.subscription_min_interval)
      .map(([v, , label]) => `<option value="${v}">${html(label)}</option>`)
      .join('');
    return sendHtml(
      reply,
      status,
      page(
        deps.config.server.name,
        'Calendar feeds',
        '/account/calendars',
        s.viewer,
        `<h1>Calendar feeds</h1>
<p class="lead">Calendars that mirror a feed from elsewhere (holidays, a team or sports schedule). They show in your calendar apps and count for your free/busy; the server fetches them on a schedule.</p>
${top}
${rows.length ? `<div class="table"><table><thead><tr><th>Calendar</th><th>Feed</th><th>Checked</th><th>Last fetch</th><th></th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>` : '<p class="note">No calendar feeds yet.</p>'}
<h2>Subscribe to a feed</h2>
<form method="post" action="/account/calendars">
${csrfField(csrf)}
<label for="feed-url">Feed address (webcal:// or https://)</label>
<input id="feed-url" type="text" name="url" inputmode="url" maxlength="2000" required placeholder="webcal://example.org/holidays.ics">
<label for="feed-name">Calendar name (letters, digits, . _ -)</label>
<input id="feed-name" type="text" name="name" maxlength="64" required placeholder="holidays">
<label for="feed-every">Check for changes</label>
<select id="feed-every" name="every">${options}</select>
<button class="primary" type="submit">Subscribe</button>
</form>`,
      ),
    );
  };
  const error = (text: string) => `<p class="error" role="alert">${html(text)}</p>`;

  scope.get('/account/calendars', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    return show(reply, s, 200, outcome(request, { removed: 'The calendar feed was removed.' }));
  });

  scope.post('/account/calendars', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const form = formOf(request);
    const name = (form.name ?? '').trim();
    const every = INTERVALS.find(([v]) => v === form.every);
    if (!NAME.test(name)) return show(reply, s, 400, error('Give the calendar a name of letters, digits, dots, dashes or underscores.'));
    if (!every || every[1] < deps.config.calendar.subscription_min_interval)
      return show(reply, s, 400, error('Choose how often to check from the list.'));
    if ((form.url ?? '').length > 2000) return show(reply, s, 400, error('That address is too long.'));
    if (fetches.hit(s.account.address) > 0) return show(reply, s, 429, error('Too many fetches; try again in a few minutes.'));
    let outcomeText: string;
    try {
      const cal = await subscribeFeed(deps.calendar, {
        accountId: s.account.id,
        name,
        url: form.url ?? '',
        intervalMs: every[1],
        timezone: deps.config.calendar.default_timezone,
      });
      const r = await refresher.refresh(cal);
      outcomeText = r.status === 'failed' ? `Subscribed, but the first fetch failed: ${r.detail}` : `Subscribed and fetched: ${r.detail}.`;
    } catch (err) {
      return show(reply, s, 400, error(problemText(deps, err)));
    }
    deps.logger.info({ event: 'web_calendar_subscribed', account: s.account.address }, 'calendar feed subscribed');
    return show(reply, s, 200, `<p class="ok" role="status">${html(outcomeText)}</p>`);
  });

  scope.post<{ Params: { name: string } }>('/account/calendars/:name/refresh', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const cal = (await feedsOf(deps.calendar, s.account.id)).find((c) => c.name === request.params.name);
    if (!cal) return show(reply, s, 404, error('No such calendar feed.'));
    if (fetches.hit(s.account.address) > 0) return show(reply, s, 429, error('Too many fetches; try again in a few minutes.'));
    const r = await refresher.refresh(cal);
    const text =
      r.status === 'failed' ? `Fetching failed: ${r.detail}. The last good copy is kept.` : `${cal.name}: ${r.status} (${r.detail}).`;
    return show(
      reply,
      s,
      r.status === 'failed' ? 502 : 200,
      `<p class="${r.status === 'failed' ? 'error' : 'ok'}" role="status">${html(text)}</p>`,
    );
  });

  scope.post<{ Params: { name: string } }>('/account/calendars/:name/remove', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const cal = (await feedsOf(deps.calendar, s.account.id)).find((c) => c.name === request.params.name);
    if (!cal) return show(reply, s, 404, error('No such calendar feed.'));
    await deps.calendar.store.removeCalendar(s.account.id, cal.name);
    deps.logger.info({ event: 'web_calendar_removed', account: s.account.address }, 'calendar feed removed');
    return done(reply, '/account/calendars', 'removed');
  });
}
