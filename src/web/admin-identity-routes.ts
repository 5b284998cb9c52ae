import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { done, outcome, problemText, type Signed, signedIn, type WebDeps } from './context.ts';
import { csrfField, html, page, sendHtml } from './page.ts';
import { ACCOUNT_CLIENT_ID } from './sign-in.ts';
import type { WebSessions } from './session.ts';

/**
 * The admin console's sign-in page: the trusted token issuers (the embedded provider and every
 * `[[auth.issuers]]` entry, with the domains they may sign in and whether the account page offers
 * them) and the OAuth clients registered at the embedded provider, with removal — the same use
 * case as `fingerpost admin client remove` (`EmbeddedIdp.removeClient`, which also ends the
 * sessions of the tokens the client was issued, RFC 7009 §2.1).
 */
export function registerAdminIdentityRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const admin = (request: FastifyRequest, reply: FastifyReply) => signedIn(deps, web, request, reply, { admin: true });
  const show = async (reply: FastifyReply, s: Signed, status: number, top: string) => {
    const issuers = deps.issuers.list();
    const clients = await deps.idp.clients.list();
    const issuerRows = issuers.map((i) => {
      const configured = deps.config.auth.issuers.find((c) => c.issuer === i.issuer);
      const signIn = i.issuer === deps.idp.issuer || configured?.account_sign_in ? 'Yes' : 'No';
      return `<tr><td><code>${html(i.issuer)}</code></td><td>${i.source === 'in-process' ? 'Embedded' : 'Configured'}</td><td>${i.options.domains.length ? i.options.domains.map(html).join(', ') : 'All'}</td><td><code>${html(i.options.claim)}</code></td><td>${signIn}</td></tr>`;
    });
    const clientRows = clients.map(
      (
        c,
      ) => `<tr><td><code>${html(c.clientId)}</code></td><td>${html(c.name)}</td><td>${c.verified ? 'Added by an admin' : 'Self-registered'}${c.public ? ', public' : ''}</td><td>${c.redirectUris.map((u) => `<code>${html(u)}</code>`).join('<br>')}</td>
<td>${c.clientId === ACCOUNT_CLIENT_ID ? '<span class="note">The account page</span>' : `<form method="post" action="/admin/identity/clients/${encodeURIComponent(c.clientId)}/remove">${csrfField(s.viewer.csrf)}<button class="danger small" type="submit" aria-label="Remove client ${html(c.clientId)}">Remove</button></form>`}</td></tr>`,
    );
    return sendHtml(
      reply,
      status,
      page(
        deps.config.server.name,
        'Sign-in',
        '/admin/identity',
        s.viewer,
        `<h1>Sign-in: issuers and clients</h1>
${top}
<h2>Trusted token issuers</h2>
<div class="table"><table><thead><tr><th>Issuer</th><th>Kind</th><th>Domains</th><th>Account claim</th><th>Account page sign-in</th></tr></thead><tbody>${issuerRows.join('\n')}</tbody></table></div>
<p class="note">Add or change issuers in <code>[[auth.issuers]]</code> of the configuration (docs/configuration.md).</p>
<h2>OAuth clients of the embedded provider</h2>
${clientRows.length ? `<div class="table"><table><thead><tr><th>Client</th><th>Name</th><th>Registered</th><th>Redirect URIs</th><th></th></tr></thead><tbody>${clientRows.join('\n')}</tbody></table></div>` : '<p class="note">No clients.</p>'}
<p class="note">Add clients with <code>fingerpost admin client add</code>. Removing one ends every session its tokens opened.</p>`,
      ),
    );
  };

  scope.get('/admin/identity', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    return show(reply, s, 200, outcome(request, { removed: 'The client was removed and its sessions ended.' }));
  });

  scope.post<{ Params: { id: string } }>('/admin/identity/clients/:id/remove', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const id = request.params.id.slice(0, 200);
    if (id === ACCOUNT_CLIENT_ID) return show(reply, s, 409, '<p class="error" role="alert">The account page’s own client stays.</p>');
    if (!(await deps.idp.clients.list()).some((c) => c.clientId === id))
      return show(reply, s, 404, '<p class="error" role="alert">No such client.</p>');
    try {
      await deps.idp.removeClient(id);
    } catch (err) {
      return show(reply, s, 400, `<p class="error" role="alert">${html(problemText(deps, err))}</p>`);
    }
    deps.logger.info({ event: 'web_client_removed', admin: s.account.address, client: id }, 'OAuth client removed');
    return done(reply, '/admin/identity', 'removed');
  });
}
