import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseQuotaSize } from '../admin/quota.ts';
import { expectedRecords, zoneLine } from '../discovery/dns-records.ts';
import { defaultSelector } from '../mail/queue/dkim.ts';
import { formOf, outcome, problemText, type Signed, signedIn, type WebDeps, done } from './context.ts';
import { csrfField, html, page, sendHtml, when } from './page.ts';
import type { WebSessions } from './session.ts';

const MAX_LIST = 1000;

function size(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'no limit';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/**
 * The admin console under `/admin` (admin role only, re-checked on every request): domains with
 * the DNS records and DKIM key they need, accounts (create, disable, reset password, quota), live
 * sessions of every account, and the outbound queue. Each action calls the use case the admin CLI
 * calls (src/admin/, src/mail/queue/), never a second implementation.
 */
export function registerAdminRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const name = deps.config.server.name;
  const admin = (request: FastifyRequest, reply: FastifyReply) => signedIn(deps, web, request, reply, { admin: true });
  const render = (reply: FastifyReply, s: Signed, status: number, title: string, current: string, body: string) =>
    sendHtml(reply, status, page(name, title, current, s.viewer, body));
  const failed = (err: unknown) => `<p class="error" role="alert">${html(problemText(deps, err))}</p>`;

  // ---- Console ----
  scope.get('/admin', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const [domains, users, live, queue] = await Promise.all([
      deps.accounts.listDomains(),
      deps.accounts.listUsers(),
      deps.sessions.list(),
      deps.queue.list(),
    ]);
    const waiting = queue.reduce((n, m) => n + m.recipients.filter((r) => r.status === 'queued').length, 0);
    const cards = [
      ['/admin/domains', 'Domains', `${domains.length} served`],
      ['/admin/accounts', 'Accounts', `${users.length} accounts, ${users.filter((u) => u.disabled).length} disabled`],
      ['/admin/sessions', 'Sessions', `${live.length} live connections`],
      ['/admin/queue', 'Outbound queue', `${waiting} recipient(s) waiting`],
    ]
      .map(([href, t, x]) => `<li><a href="${href}"><strong>${html(t!)}</strong><br><span class="note">${html(x!)}</span></a></li>`)
      .join('\n');
    return render(
      reply,
      s,
      200,
      'Admin console',
      '/admin',
      `<h1>Admin console</h1>\n<p class="lead">${html(name)}</p>\n<ul class="cards">\n${cards}\n</ul>`,
    );
  });

  // ---- Domains, DNS records, DKIM ----
  const domainsPage = async (reply: FastifyReply, s: Signed, status: number, top: string) => {
    const domains = await deps.accounts.listDomains();
    const sections: string[] = [];
    for (const d of domains.slice(0, MAX_LIST)) {
      const keys = await deps.dkim.list(d.name);
      const active = keys.filter((k) => k.active);
      const records = expectedRecords(deps.config, d.name, active);
      const dkim = active.length
        ? `<p>DKIM: signing with selector <code>${html(active[0]!.selector)}</code> (since ${when(active[0]!.createdAt)}).</p>`
        : `<p class="error">No DKIM key: mail from ${html(d.name)} is not signed, and receivers may reject it under DMARC.</p>
<form method="post" action="/admin/domains/${encodeURIComponent(d.name)}/dkim">${csrfField(s.viewer.csrf)}<button class="primary small" type="submit">Create a DKIM key</button></form>`;
      sections.push(`<h2>${html(d.name)}</h2>
<p class="note">Added ${when(d.createdAt)}</p>
${dkim}
<details><summary>DNS records to publish (${records.length})</summary>
<pre><code>${html(records.map((r) => `; ${r.why}\n${zoneLine(r)}`).join('\n'))}</code></pre></details>`);
    }
    return render(
      reply,
      s,
      status,
      'Domains',
      '/admin/domains',
      `<h1>Domains</h1>
${top}
${sections.join('\n') || '<p class="note">No domains.</p>'}
<h2>Add a domain</h2>
<form method="post" action="/admin/domains">${csrfField(s.viewer.csrf)}
<label for="domain">Domain name</label><input id="domain" type="text" name="domain" required maxlength="253" placeholder="example.org">
<button class="primary" type="submit">Add domain</button></form>
<p class="note">Check the published records with <code>fingerpost doctor DOMAIN</code>.</p>`,
    );
  };

  scope.get('/admin/domains', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    return domainsPage(
      reply,
      s,
      200,
      outcome(request, {
        added: 'The domain was added. Publish its DNS records.',
        dkim: 'A DKIM key was created. Publish its TXT record before mail is signed with it.',
      }),
    );
  });

  scope.post('/admin/domains', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    try {
      await deps.accounts.addDomain((formOf(request).domain ?? '').trim());
    } catch (err) {
      return domainsPage(reply, s, 400, failed(err));
    }
    return done(reply, '/admin/domains', 'added');
  });

  scope.post<{ Params: { domain: string } }>('/admin/domains/:domain/dkim', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const domain = (await deps.accounts.listDomains()).find((d) => d.name === request.params.domain);
    if (!domain) return domainsPage(reply, s, 404, '<p class="error" role="alert">No such domain.</p>');
    try {
      await deps.dkim.create(domain.name, defaultSelector());
    } catch (err) {
      return domainsPage(reply, s, 400, failed(err));
    }
    return done(reply, '/admin/domains', 'dkim');
  });

  // ---- Accounts ----
  const accountsPage = async (reply: FastifyReply, s: Signed, status: number, top: string) => {
    const users = (await deps.accounts.listUsers()).slice(0, MAX_LIST);
    const csrf = s.viewer.csrf;
    const rows: string[] = [];
    for (const u of users) {
      const q = await deps.quota.get(u.address).catch(() => undefined);
      const a = encodeURIComponent(u.address);
      rows.push(`<tr><td>${html(u.address)}${u.isAdmin ? ' <span class="note">(admin)</span>' : ''}<br><span class="note">${html(u.displayName)}</span></td>
<td>${u.disabled ? '<strong>disabled</strong>' : 'active'}</td>
<td>${q ? `${size(q.used)} of ${size(q.limit)}` : '–'}
<form method="post" action="/admin/accounts/${a}/quota">${csrfField(csrf)}<label class="check">Limit <input type="text" name="quota" size="7" aria-label="Quota of ${html(u.address)}" placeholder="2G or none"></label><button class="small" type="submit">Set</button></form></td>
<td><form method="post" action="/admin/accounts/${a}/${u.disabled ? 'enable' : 'disable'}">${csrfField(csrf)}<button class="${u.disabled ? '' : 'danger '}small" type="submit">${u.disabled ? 'Enable' : 'Disable'}</button></form>
<form method="post" action="/admin/accounts/${a}/reset-password">${csrfField(csrf)}<button class="small" type="submit">Reset password</button></form></td></tr>`);
    }
    const domains = await deps.accounts.listDomains();
    return render(
      reply,
      s,
      status,
      'Accounts',
      '/admin/accounts',
      `<h1>Accounts</h1>
${top}
<div class="table"><table><thead><tr><th>Account</th><th>State</th><th>Storage</th><th></th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
<h2>New account</h2>
<form method="post" action="/admin/accounts">${csrfField(csrf)}
<label for="address">Address</label><input id="address" type="email" name="address" required placeholder="name@${html(domains[0]?.name ?? 'example.org')}">
<label for="display">Display name</label><input id="display" type="text" name="display" maxlength="100">
<label class="check"><input type="checkbox" name="admin" value="yes"> Administrator</label>
<p class="note">A password is generated and shown once.</p>
<button class="primary" type="submit">Create account</button></form>`,
    );
  };

  const secretBox = (what: string, secret: string) =>
    `<div class="ok" role="status"><p>${html(what)} Hand this password over safely; it is shown only once.</p><p class="secret" id="new-secret">${html(secret)}</p></div>`;

  scope.get('/admin/accounts', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    return accountsPage(
      reply,
      s,
      200,
      outcome(request, {
        disabled: 'The account was disabled and its sessions ended.',
        enabled: 'The account was enabled.',
        quota: 'The quota was set.',
      }),
    );
  });

  scope.post('/admin/accounts', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const form = formOf(request);
    try {
      const r = await deps.accounts.addUser({
        address: (form.address ?? '').trim(),
        displayName: (form.display ?? '').trim().slice(0, 100),
        isAdmin: form.admin === 'yes',
      });
      deps.logger.info({ event: 'web_account_created', by: s.account.address, account: r.account.address }, 'account created');
      return accountsPage(reply, s, 200, secretBox(`Account ${r.account.address} created.`, r.generatedPassword ?? ''));
    } catch (err) {
      return accountsPage(reply, s, 400, failed(err));
    }
  });

  type One = { Params: { address: string; action: string } };
  scope.post<One>('/admin/accounts/:address/:action', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const { address, action } = request.params;
    const target = await deps.directory.findByAddress(address);
    if (!target || target.address !== address.toLowerCase())
      return accountsPage(reply, s, 404, '<p class="error" role="alert">No such account.</p>');
    try {
      switch (action) {
        case 'disable':
          if (target.id === s.account.id)
            return accountsPage(reply, s, 400, '<p class="error" role="alert">You cannot disable your own account here.</p>');
          await deps.accounts.setDisabled(target.address, true);
          return done(reply, '/admin/accounts', 'disabled');
        case 'enable':
          await deps.accounts.setDisabled(target.address, false);
          return done(reply, '/admin/accounts', 'enabled');
        case 'reset-password': {
          const r = await deps.accounts.setPassword(target.address);
          return accountsPage(
            reply,
            s,
            200,
            secretBox(`New password for ${target.address}; its sessions were ended.`, r.generatedPassword ?? ''),
          );
        }
        case 'quota':
          await deps.quota.set(target.address, parseQuotaSize(formOf(request).quota ?? ''));
          return done(reply, '/admin/accounts', 'quota');
        default:
          return accountsPage(reply, s, 404, '<p class="error" role="alert">No such action.</p>');
      }
    } catch (err) {
      return accountsPage(reply, s, 400, failed(err));
    }
  });

  // ---- Sessions of every account ----
  scope.get('/admin/sessions', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const live = (await deps.sessions.list()).slice(0, MAX_LIST);
    const rows = live.map(
      (
        x,
      ) => `<tr><td>${html(x.address)}</td><td>${html(x.protocol.toUpperCase())}</td><td>${html(x.remote)}</td><td>${html(x.method === 'app_password' ? `app password ${x.credentialId ?? ''}` : x.method)}</td><td>${when(x.startedAt)}</td>
<td><form method="post" action="/admin/sessions/${encodeURIComponent(x.id)}/revoke">${csrfField(s.viewer.csrf)}<button class="danger small" type="submit">End</button></form></td></tr>`,
    );
    return render(
      reply,
      s,
      200,
      'Sessions',
      '/admin/sessions',
      `<h1>Live sessions</h1>
${outcome(request, { ended: 'The session was ended.' })}
${rows.length ? `<div class="table"><table><thead><tr><th>Account</th><th>Protocol</th><th>Address</th><th>Credential</th><th>Since</th><th></th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>` : '<p class="note">No live sessions.</p>'}`,
    );
  });

  scope.post<{ Params: { id: string } }>('/admin/sessions/:id/revoke', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    await deps.sessions.revoke(request.params.id).catch(() => undefined);
    return done(reply, '/admin/sessions', 'ended');
  });

  // ---- Outbound queue ----
  scope.get('/admin/queue', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const entries = (await deps.queue.list()).slice(0, MAX_LIST);
    const csrf = s.viewer.csrf;
    const rows = entries.flatMap((m) =>
      m.recipients.map(
        (
          r,
          i,
        ) => `<tr><td>${i === 0 ? String(m.id) : ''}</td><td>${i === 0 ? html(m.sender || '<>') : ''}</td><td>${html(r.recipient)}</td><td>${html(r.status)}</td><td>${r.attempts}</td><td>${r.status === 'queued' ? when(r.nextAttemptAt) : '–'}</td><td>${html((r.lastError ?? '').slice(0, 120))}</td>
<td>${
          i === 0
            ? `<form method="post" action="/admin/queue/${m.id}/retry">${csrfField(csrf)}<button class="small" type="submit">Retry now</button></form><form method="post" action="/admin/queue/${m.id}/remove">${csrfField(csrf)}<button class="danger small" type="submit">Remove</button></form>`
            : ''
        }</td></tr>`,
      ),
    );
    return render(
      reply,
      s,
      200,
      'Outbound queue',
      '/admin/queue',
      `<h1>Outbound queue</h1>
${outcome(request, { retry: 'Due now: the server tries at its next queue pass.', removed: 'The message was removed without delivery or bounce.' })}
${rows.length ? `<div class="table"><table><thead><tr><th>ID</th><th>From</th><th>To</th><th>Status</th><th>Tries</th><th>Next</th><th>Last error</th><th></th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>` : '<p class="note">Nothing is waiting.</p>'}`,
    );
  });

  scope.post<{ Params: { id: string; action: string } }>('/admin/queue/:id/:action', async (request, reply) => {
    const s = await admin(request, reply);
    if (!s) return reply;
    const { id, action } = request.params;
    if (!/^\d{1,15}$/.test(id) || (action !== 'retry' && action !== 'remove')) return reply.code(404).send();
    if (action === 'retry') await deps.queue.retryNow(Number(id));
    else await deps.queue.remove(Number(id)).catch(() => undefined);
    return done(reply, '/admin/queue', action === 'retry' ? 'retry' : 'removed');
  });
}
