import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseSharingRule, SHARING_POLICIES, type SharingPolicy } from '../calendar/sharing.ts';
import { done, formOf, outcome, problemText, type Signed, signedIn, type WebDeps } from './context.ts';
import { csrfField, html, page, sendHtml, when } from './page.ts';
import type { WebSessions } from './session.ts';

const WORDS: Readonly<Record<SharingPolicy, string>> = {
  nobody: 'Nobody',
  list: 'Only the people and domains listed below',
  contacts: 'People in my address books, and those listed below',
  domain: 'Everyone at my domain, and those listed below',
  anyone: 'Anyone, also without signing in',
};

const KIND: Readonly<Record<string, string>> = {
  local: 'Signed in here',
  remote: 'From another server (signed request)',
  anonymous: 'Without signing in',
};

const SOURCE: Readonly<Record<string, string>> = {
  account: 'your own rule',
  domain: 'the default of your domain',
  default: 'the server default',
};

/**
 * Who may see when the account is busy (free/busy, RFC 6638 §3.2.1 / RFC 5545 VFREEBUSY): the
 * account's own sharing rule over the calendar store, or the domain default, through the same
 * calendar use cases as `fingerpost admin calendar sharing`; and the log of who asked
 * (src/admin/freebusy-asks.ts) with the answer each got.
 */
export function registerSharingRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const show = async (reply: FastifyReply, s: Signed, status: number, top: string) => {
    const [{ rule, source }, asks] = await Promise.all([deps.calendar.effectiveRule(s.account), deps.freebusyAsks.list(s.account.id)]);
    const askRows = asks.map(
      (a) =>
        `<tr><td>${when(a.at)}</td><td>${a.kind === 'anonymous' ? 'Someone not signed in' : html(a.asker)}</td><td>${html(KIND[a.kind] ?? a.kind)}${a.issuer ? `<br><span class="note">${html(a.issuer)}</span>` : ''}</td><td>${a.allowed ? 'Allowed' : '<strong>Refused</strong>'}</td></tr>`,
    );
    const radios = SHARING_POLICIES.map(
      (p) =>
        `<label class="check"><input type="radio" name="policy" value="${p}"${rule.policy === p ? ' checked' : ''}> ${html(WORDS[p])}</label><br>`,
    ).join('\n');
    return sendHtml(
      reply,
      status,
      page(
        deps.config.server.name,
        'Calendar sharing',
        '/account/sharing',
        s.viewer,
        `<h1>Calendar sharing</h1>
<p class="lead">Who may see when you are busy (free/busy) — never what your events are.</p>
${top}
<p class="note">Now: ${html(WORDS[rule.policy])}${rule.allow.length ? ` (${rule.allow.map(html).join(', ')})` : ''}, from ${html(SOURCE[source] ?? source)}.</p>
<form method="post" action="/account/sharing">
${csrfField(s.viewer.csrf)}
<fieldset><legend>Who may see my free/busy</legend>
${radios}
</fieldset>
<label for="allow">Also allowed (addresses or domains, one per line)</label>
<textarea id="allow" name="allow" rows="4" spellcheck="false">${html(rule.allow.join('\n'))}</textarea>
<button class="primary" type="submit">Save</button>
</form>
${source === 'account' ? `<form method="post" action="/account/sharing/clear">${csrfField(s.viewer.csrf)}<button type="submit">Use my domain’s default instead</button></form>` : ''}
<h2>Who asked</h2>
${askRows.length ? `<div class="table"><table><thead><tr><th>When</th><th>Who</th><th>How</th><th>Answer</th></tr></thead><tbody>${askRows.join('\n')}</tbody></table></div><p class="note">The last 100 requests of the past 90 days.</p>` : '<p class="note">Nobody asked for your free/busy in the past 90 days.</p>'}`,
      ),
    );
  };

  scope.get('/account/sharing', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    return show(
      reply,
      s,
      200,
      outcome(request, { saved: 'Your sharing rule was saved.', cleared: 'Your domain’s default rule applies now.' }),
    );
  });

  scope.post('/account/sharing', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const form = formOf(request);
    try {
      const allow = (form.allow ?? '').split(/[\s,]+/).filter(Boolean);
      await deps.calendar.store.setSharing(s.account.id, parseSharingRule({ policy: form.policy, allow }));
    } catch (err) {
      return show(reply, s, 400, `<p class="error" role="alert">${html(problemText(deps, err))}</p>`);
    }
    return done(reply, '/account/sharing', 'saved');
  });

  scope.post('/account/sharing/clear', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    await deps.calendar.store.clearSharing(s.account.id);
    return done(reply, '/account/sharing', 'cleared');
  });
}
