import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Vacation } from '../mail/vacation/settings.ts';
import { done, type Form, formOf, outcome, type Signed, signedIn, type WebDeps } from './context.ts';
import { csrfField, html, page, sendHtml } from './page.ts';
import type { WebSessions } from './session.ts';

const MAX_SUBJECT = 200;
const MAX_TEXT = 16_384;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` (an `<input type="date">`) as the start of that day in UTC, or undefined. */
function day(text: string | undefined): number | null | undefined {
  if (!text) return null;
  const m = DAY.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(text) ? ms : undefined;
}

const dayText = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().slice(0, 10));

/** The settings a form asks for, or an error sentence. */
function vacationOf(form: Form): Vacation | string {
  const from = day(form.from);
  const toDay = day(form.to);
  if (from === undefined || toDay === undefined) return 'Enter the dates as year-month-day.';
  // The last day is inclusive on the page; the stored end is exclusive (RFC 8621 §8 toDate).
  const to = toDay === null ? null : toDay + 86_400_000;
  if (from !== null && to !== null && to <= from) return 'The last day is before the first day.';
  const subject = (form.subject ?? '').trim();
  const text = (form.text ?? '').replace(/\r\n/g, '\n');
  if (subject.length > MAX_SUBJECT || /[\u0000-\u001f\u007f]/.test(subject))
    return `Keep the subject to one line of at most ${MAX_SUBJECT} characters.`;
  if (text.length > MAX_TEXT) return `Keep the message under ${MAX_TEXT} characters.`;
  const isEnabled = form.enabled === 'on';
  if (isEnabled && !text.trim()) return 'Write the message people get.';
  return { isEnabled, fromDate: from, toDate: to, subject: subject || null, textBody: text || null, htmlBody: null };
}

/**
 * The vacation page: the account's automatic reply (RFC 8621 §8 VacationResponse, answered at
 * most once per sender per period as RFC 3834 §2 asks), edited through the same settings JMAP and
 * the responder use (src/mail/vacation/settings.ts), whatever protocol delivers the mail.
 */
export function registerVacationRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const show = async (reply: FastifyReply, s: Signed, status: number, top: string, shown?: Vacation) => {
    const v = shown ?? (await deps.vacation.load(s.account.id));
    const lastDay = v.toDate === null ? null : v.toDate - 86_400_000;
    return sendHtml(
      reply,
      status,
      page(
        deps.config.server.name,
        'Vacation reply',
        '/account/vacation',
        s.viewer,
        `<h1>Vacation reply</h1>
<p class="lead">An automatic answer to mail that arrives while you are away. Each sender gets it once, not to mailing lists or automatic messages.</p>
${top}
<form method="post" action="/account/vacation">
${csrfField(s.viewer.csrf)}
<label class="check"><input type="checkbox" name="enabled" id="vacation-on"${v.isEnabled ? ' checked' : ''}> Answer mail automatically</label>
<div class="row">
<div><label for="from">First day (optional)</label><input id="from" type="date" name="from" value="${dayText(v.fromDate)}"></div>
<div><label for="to">Last day (optional)</label><input id="to" type="date" name="to" value="${dayText(lastDay)}"></div>
</div>
<p class="note">Days run midnight to midnight UTC.</p>
<label for="subject">Subject (optional)</label>
<input id="subject" type="text" name="subject" maxlength="${MAX_SUBJECT}" value="${html(v.subject ?? '')}" placeholder="Auto: the subject of their message">
<label for="text">Message</label>
<textarea id="text" name="text" maxlength="${MAX_TEXT}">${html(v.textBody ?? '')}</textarea>
<button class="primary" type="submit">Save</button>
</form>`,
      ),
    );
  };

  scope.get('/account/vacation', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    return show(reply, s, 200, outcome(request, { saved: 'Your vacation reply was saved.' }));
  });

  scope.post('/account/vacation', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const form = formOf(request);
    const v = vacationOf(form);
    if (typeof v === 'string') {
      // The form again as it was sent, so nothing typed is lost.
      const to = day(form.to);
      const draft: Vacation = {
        isEnabled: form.enabled === 'on',
        fromDate: day(form.from) ?? null,
        toDate: to ? to + 86_400_000 : null,
        subject: (form.subject ?? '').slice(0, MAX_SUBJECT) || null,
        textBody: (form.text ?? '').slice(0, MAX_TEXT) || null,
        htmlBody: null,
      };
      return show(reply, s, 400, `<p class="error" role="alert">${html(v)}</p>`, draft);
    }
    await deps.vacation.save(s.account.id, v);
    deps.logger.info({ event: 'web_vacation_saved', account: s.account.address, enabled: v.isEnabled }, 'vacation reply saved');
    return done(reply, '/account/vacation', 'saved');
  });
}
