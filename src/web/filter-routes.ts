import type { FastifyInstance, FastifyReply } from 'fastify';
import { compile } from '../mail/sieve/validate.ts';
import { formOf, outcome, type Signed, signedIn, type WebDeps, done } from './context.ts';
import { csrfField, html, page, sendHtml, when } from './page.ts';
import type { WebSessions } from './session.ts';

const DEFAULT_NAME = 'filters';

const EXAMPLE = `require ["fileinto"];
# Example: file mail from a list into its own folder.
# if header :contains "list-id" "news.example.org" { fileinto "News"; }
`;

/**
 * The filters page: the account's active Sieve script (RFC 5228) shown and edited in a text
 * area, checked by the same compiler ManageSieve's PUTSCRIPT uses (RFC 5804 §2.6) and stored
 * through the one script store (src/mail/sieve/scripts.ts), then made active.
 */
export function registerFilterRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const limits = { maxBytes: deps.config.sieve.max_script_size, maxDepth: deps.config.sieve.max_nesting };
  const show = async (reply: FastifyReply, s: Signed, status: number, top: string, text?: string) => {
    const active = await deps.sieve.active(s.account.id);
    const content = text ?? active?.content ?? EXAMPLE;
    return sendHtml(
      reply,
      status,
      page(
        deps.config.server.name,
        'Filters',
        '/account/filters',
        s.viewer,
        `<h1>Filters</h1>
<p class="lead">Rules that sort, forward or answer incoming mail, written in Sieve (RFC 5228). Apps that speak ManageSieve edit the same script.</p>
${top}
<p class="note">${active ? `Active script “${html(active.name)}”, changed ${when(active.updatedAt)}.` : 'No active script yet: saving makes this one active.'}</p>
<form method="post" action="/account/filters">
${csrfField(s.viewer.csrf)}
<label for="script">Sieve script</label>
<textarea id="script" name="script" spellcheck="false">${html(content)}</textarea>
<button class="primary" type="submit">Check and save</button>
</form>`,
      ),
    );
  };

  scope.get('/account/filters', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    return show(
      reply,
      s,
      200,
      outcome(request, { saved: 'The filters were checked and saved; they apply to the next message that arrives.' }),
    );
  });

  scope.post('/account/filters', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const script = (formOf(request).script ?? '').replace(/\r\n/g, '\n').replace(/\n/g, '\r\n');
    const active = await deps.sieve.active(s.account.id);
    const scriptName = active?.name ?? DEFAULT_NAME;
    const full = await deps.sieve.spaceFor(s.account.id, scriptName, Buffer.byteLength(script));
    if (full)
      return show(
        reply,
        s,
        400,
        `<p class="error" role="alert">${full === 'maxsize' ? 'The script is too large.' : 'You have too many scripts.'}</p>`,
        script,
      );
    try {
      compile(script, limits);
    } catch (err) {
      return show(reply, s, 400, `<p class="error" role="alert">The script has an error: ${html((err as Error).message)}</p>`, script);
    }
    await deps.sieve.put(s.account.id, scriptName, script);
    if (!active) await deps.sieve.setActive(s.account.id, scriptName);
    return done(reply, '/account/filters', 'saved');
  });
}
