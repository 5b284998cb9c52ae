import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseDuration } from '../config/duration.ts';
import { domainServices } from '../discovery/services.ts';
import { MOBILECONFIG_TYPE, mobileconfig } from '../discovery/mobileconfig.ts';
import { APP_PASSWORD_PROTOCOLS, type AppPasswordInfo } from '../directory/directory.ts';
import { type Form, formOf, outcome, problemText, type Signed, signedIn, type WebDeps, done } from './context.ts';
import { CLIENTS, clientGuide, type ClientGuide, settingsHtml } from './devices.ts';
import { csrfField, html, page, sendHtml, when } from './page.ts';
import { qrSvg } from './qr.ts';
import type { WebSessions } from './session.ts';

const PROTOCOL_WORDS: Readonly<Record<string, string>> = {
  imap: 'IMAP (mail)',
  pop3: 'POP3 (mail)',
  smtp: 'SMTP (sending)',
  http: 'JMAP and web (HTTP)',
  caldav: 'Calendars (CalDAV)',
  carddav: 'Contacts (CardDAV)',
};

const EXPIRY_CHOICES: ReadonlyArray<readonly [string, string]> = [
  ['', 'Never'],
  ['30d', 'In 30 days'],
  ['90d', 'In 90 days'],
  ['365d', 'In a year'],
];

const MAX_NAME = 64;

/** The protocols ticked in a form, each one of APP_PASSWORD_PROTOCOLS. */
function protocolsOf(form: Form): string[] {
  const given = (form.protocols ?? '').split(',');
  return APP_PASSWORD_PROTOCOLS.filter((p) => given.includes(p));
}

function appPasswordRows(list: readonly AppPasswordInfo[], csrf: string): string {
  const live = list.filter((p) => p.revokedAt === null);
  if (!live.length) return '<p class="note">You have no app passwords.</p>';
  const rows = live.map(
    (p) => `<tr>
<td>${html(p.name)}</td>
<td>${p.protocols.map((x) => html(PROTOCOL_WORDS[x] ?? x)).join(', ')}</td>
<td>${when(p.createdAt)}</td>
<td>${p.lastUsedAt ? `${when(p.lastUsedAt)}${p.lastUsedAddress ? `<br><span class="note">from ${html(p.lastUsedAddress)}${p.lastUsedProtocol ? ` (${html(p.lastUsedProtocol.toUpperCase())})` : ''}</span>` : ''}` : 'Never'}</td>
<td>${p.expiresAt ? when(p.expiresAt) : 'Never'}</td>
<td><form method="post" action="/account/app-passwords/${p.id}/revoke">${csrfField(csrf)}<button class="danger small" type="submit" aria-label="Revoke ${html(p.name)}">Revoke</button></form></td>
</tr>`,
  );
  return `<div class="table"><table>
<thead><tr><th>Name</th><th>Works for</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function createForm(csrf: string, action: string, checked: readonly string[], name = ''): string {
  const boxes = APP_PASSWORD_PROTOCOLS.map(
    (p) =>
      `<label class="check"><input type="checkbox" name="protocols" value="${p}"${checked.includes(p) ? ' checked' : ''}> ${html(PROTOCOL_WORDS[p] ?? p)}</label>`,
  ).join('\n');
  const expiry = EXPIRY_CHOICES.map(([v, l]) => `<option value="${v}">${html(l)}</option>`).join('');
  return `<form method="post" action="${action}">
${csrfField(csrf)}
<label for="ap-name">Name (which device or app)</label>
<input id="ap-name" type="text" name="name" maxlength="${MAX_NAME}" required value="${html(name)}" placeholder="e.g. Phone mail app">
<fieldset><legend>Works for</legend>
${boxes}
</fieldset>
<label for="ap-expiry">Expires</label>
<select id="ap-expiry" name="expiry">${expiry}</select>
<button class="primary" type="submit">Create app password</button>
</form>`;
}

function shownOnce(name: string, secret: string): string {
  return `<div class="ok" role="status"><p><strong>App password “${html(name)}” created.</strong> Enter it in the app now: it is shown only this once.</p>
<p class="secret" id="new-secret">${html(secret)}</p>
<p class="note">Spaces do not matter. If you lose it, revoke it and create a new one.</p></div>`;
}

/**
 * The account page under `/account`: overview, app passwords (create, shown once, list with last
 * use, revoke), devices and sessions (OAuth grants, live protocol sessions, sign out everywhere),
 * device set-up (settings, Apple profile, QR code, scoped app password). Every action re-checks the session, its CSRF token and ownership.
 */
export function registerAccountRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const name = deps.config.server.name;

  const create = async (signed: Signed, form: Form): Promise<{ secret: string; name: string } | { error: string }> => {
    const label = (form.name ?? '').trim();
    if (!label || label.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(label))
      return { error: `Give the app password a name of 1 to ${MAX_NAME} characters.` };
    const protocols = protocolsOf(form);
    if (!protocols.length) return { error: 'Tick at least one service the app password works for.' };
    const expiry = form.expiry ?? '';
    if (expiry && !EXPIRY_CHOICES.some(([v]) => v === expiry)) return { error: 'Choose an expiry from the list.' };
    const existing = await deps.accounts.listAppPasswords(signed.account.address);
    if (existing.some((p) => p.revokedAt === null && p.name === label))
      return { error: `You already have an app password named “${label}”.` };
    try {
      const { secret, info } = await deps.accounts.createAppPassword({
        address: signed.account.address,
        name: label,
        protocols,
        expiresAt: expiry ? Date.now() + (parseDuration(expiry) ?? 0) : null,
      });
      deps.logger.info({ event: 'web_app_password_created', account: signed.account.address, id: info.id }, 'app password created');
      return { secret, name: info.name };
    } catch (err) {
      return { error: problemText(deps, err) };
    }
  };

  // ---- Overview ----
  scope.get('/account', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const [passwords, live, grants] = await Promise.all([
      deps.accounts.listAppPasswords(s.account.address),
      deps.sessions.list(s.account.id),
      deps.idp.grantsOf(s.account.address),
    ]);
    const cards = [
      ['/account/devices', 'Set up a device', 'Settings, profiles and QR codes for mail, calendar and contacts apps.'],
      ['/account/app-passwords', 'App passwords', `${passwords.filter((p) => p.revokedAt === null).length} active`],
      ['/account/sessions', 'Devices and sessions', `${live.length} live connection(s), ${grants.length} app(s) allowed`],
      ['/account/security', 'Security', 'Password, authenticator app, passkeys and recovery codes.'],
      ['/account/sharing', 'Calendar sharing', 'Who may see when you are busy.'],
      ['/account/calendars', 'Calendar feeds', 'Subscribe to holiday, team or sports calendars.'],
      ['/account/filters', 'Filters', 'Sort incoming mail with Sieve rules.'],
      ['/account/vacation', 'Vacation reply', 'Answer mail automatically while you are away.'],
    ]
      .map(
        ([href, title, text]) =>
          `<li><a href="${href}"><strong>${html(title!)}</strong><br><span class="note">${html(text!)}</span></a></li>`,
      )
      .join('\n');
    return sendHtml(
      reply,
      200,
      page(
        name,
        'Your account',
        '/account',
        s.viewer,
        `<h1>${html(s.account.displayName || s.account.address)}</h1>
<p class="lead">Signed in as <strong>${html(s.account.address)}</strong>.</p>
<ul class="cards">
${cards}
</ul>`,
      ),
    );
  });

  // ---- App passwords ----
  const appPasswordsPage = async (reply: FastifyReply, s: Signed, status: number, top: string) => {
    const list = await deps.accounts.listAppPasswords(s.account.address);
    return sendHtml(
      reply,
      status,
      page(
        name,
        'App passwords',
        '/account/app-passwords',
        s.viewer,
        `<h1>App passwords</h1>
<p class="lead">An app password lets one app sign in without your own password, only for the services you pick. Revoking it signs that app out at once.</p>
${top}
${appPasswordRows(list, s.viewer.csrf)}
<h2>New app password</h2>
${createForm(s.viewer.csrf, '/account/app-passwords', ['imap', 'smtp'])}`,
      ),
    );
  };

  scope.get('/account/app-passwords', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    return appPasswordsPage(reply, s, 200, outcome(request, { revoked: 'The app password was revoked; apps using it are signed out.' }));
  });

  scope.post('/account/app-passwords', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const r = await create(s, formOf(request));
    if ('error' in r) return appPasswordsPage(reply, s, 400, `<p class="error" role="alert">${html(r.error)}</p>`);
    return appPasswordsPage(reply, s, 200, shownOnce(r.name, r.secret));
  });

  scope.post<{ Params: { id: string } }>('/account/app-passwords/:id/revoke', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const id = request.params.id;
    const mine =
      /^\d{1,15}$/.test(id) &&
      (await deps.accounts.listAppPasswords(s.account.address)).some((p) => String(p.id) === id && p.revokedAt === null);
    if (!mine) return appPasswordsPage(reply, s, 404, '<p class="error" role="alert">No such app password.</p>');
    await deps.accounts.revokeAppPassword(s.account.address, id);
    deps.logger.info({ event: 'web_app_password_revoked', account: s.account.address, id }, 'app password revoked');
    return done(reply, '/account/app-passwords', 'revoked');
  });

  // ---- Devices and sessions ----
  scope.get('/account/sessions', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const [live, grants] = await Promise.all([deps.sessions.list(s.account.id), deps.idp.grantsOf(s.account.address)]);
    const csrf = s.viewer.csrf;
    const liveRows = live.map(
      (
        x,
      ) => `<tr><td>${html(x.protocol.toUpperCase())}</td><td>${html(x.remote)}</td><td>${html(x.method === 'app_password' ? 'app password' : x.method)}</td><td>${when(x.startedAt)}</td>
<td><form method="post" action="/account/sessions/${encodeURIComponent(x.id)}/revoke">${csrfField(csrf)}<button class="danger small" type="submit">End</button></form></td></tr>`,
    );
    const grantRows = grants.map(
      (
        g,
      ) => `<tr><td>${html(g.clientName || g.clientId)}</td><td>${when(g.createdAt)}</td><td>${g.scopes.map((x) => `<code>${html(x)}</code>`).join(' ')}</td>
<td><form method="post" action="/account/grants/${encodeURIComponent(g.id)}/revoke">${csrfField(csrf)}<button class="danger small" type="submit">Remove access</button></form></td></tr>`,
    );
    return sendHtml(
      reply,
      200,
      page(
        name,
        'Devices and sessions',
        '/account/sessions',
        s.viewer,
        `<h1>Devices and sessions</h1>
<p class="lead">Apps you allowed to use your account, and the connections open right now.</p>
${outcome(request, { ended: 'The session was ended.', removed: 'The app’s access was removed and its connections ended.', everywhere: 'You were signed out everywhere: every connection ended, every app must sign in again.' })}
<h2>Apps with access</h2>
${grantRows.length ? `<div class="table"><table><thead><tr><th>App</th><th>Allowed</th><th>Access</th><th></th></tr></thead><tbody>${grantRows.join('\n')}</tbody></table></div>` : '<p class="note">No app signed in with your account.</p>'}
<h2>Live connections</h2>
${liveRows.length ? `<div class="table"><table><thead><tr><th>Protocol</th><th>Address</th><th>Signed in with</th><th>Since</th><th></th></tr></thead><tbody>${liveRows.join('\n')}</tbody></table></div>` : '<p class="note">No open connections.</p>'}
<h2>Lost a device?</h2>
<p>Sign out everywhere ends every connection and removes every app’s access. App passwords keep working until you revoke them.</p>
<form method="post" action="/account/sessions/revoke-all">${csrfField(csrf)}<button class="danger" type="submit">Sign out everywhere</button></form>`,
      ),
    );
  });

  scope.post<{ Params: { id: string } }>('/account/sessions/:id/revoke', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    try {
      await deps.sessions.revoke(request.params.id, s.account.id);
    } catch {
      return done(reply, '/account/sessions', 'gone');
    }
    return done(reply, '/account/sessions', 'ended');
  });

  scope.post<{ Params: { id: string } }>('/account/grants/:id/revoke', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    await deps.idp.revokeGrant(s.account.address, request.params.id.slice(0, 200));
    return done(reply, '/account/sessions', 'removed');
  });

  scope.post('/account/sessions/revoke-all', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    for (const g of await deps.idp.grantsOf(s.account.address)) await deps.idp.revokeGrant(s.account.address, g.id);
    const n = await deps.sessions.revokeAccount(s.account.id);
    deps.logger.info({ event: 'web_signed_out_everywhere', account: s.account.address, sessions: n }, 'signed out everywhere');
    return done(reply, '/account/sessions', 'everywhere');
  });

  // ---- Set up a device ----
  scope.get('/account/devices', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const cards = CLIENTS.map(
      (c) =>
        `<li><a href="/account/devices/${c.id}"><strong>${html(c.name)}</strong><br><span class="note">${c.protocols.map((p) => html(PROTOCOL_WORDS[p] ?? p)).join(', ')}</span></a></li>`,
    ).join('\n');
    return sendHtml(
      reply,
      200,
      page(
        name,
        'Set up a device',
        '/account/devices',
        s.viewer,
        `<h1>Set up a device</h1>\n<p class="lead">Pick the app you want to use.</p>\n<ul class="cards">\n${cards}\n</ul>`,
      ),
    );
  });

  const devicePage = (reply: FastifyReply, s: Signed, guide: ClientGuide, status: number, top: string) => {
    const services = domainServices(deps.config, s.account.domain);
    const here = `${deps.config.publicUrl}/account/devices/${guide.id}`;
    const profile = guide.profile
      ? `<p><a class="button" href="/account/devices/apple/profile.mobileconfig" download>Download the configuration profile</a></p>`
      : '';
    const qrTarget = guide.profile
      ? `${deps.config.publicUrl}/apple/mail.mobileconfig?emailaddress=${encodeURIComponent(s.account.address)}`
      : here;
    const qr = guide.phone
      ? `<h2>On the phone</h2><div class="row"><div class="qr">${qrSvg(qrTarget, `QR code: ${qrTarget}`)}</div><p class="note">Scan with the phone’s camera to open<br><code>${html(qrTarget)}</code></p></div>`
      : '';
    return sendHtml(
      reply,
      status,
      page(
        name,
        guide.name,
        '/account/devices',
        s.viewer,
        `<h1>${html(guide.name)}</h1>
${top}
<ol>${guide.steps.map((t) => `<li>${html(t)}</li>`).join('')}</ol>
${profile}
<h2>Settings</h2>
${settingsHtml(services, s.account.address, guide)}
${qr}
<h2>App password for ${html(guide.name)}</h2>
<p class="note">Works only for ${guide.protocols.map((p) => html(PROTOCOL_WORDS[p] ?? p)).join(', ')}.</p>
${createForm(s.viewer.csrf, `/account/devices/${guide.id}/app-password`, guide.protocols, guide.name)}`,
      ),
    );
  };

  scope.get('/account/devices/apple/profile.mobileconfig', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const profile = mobileconfig(domainServices(deps.config, s.account.domain), s.account.address, deps.localCaPem());
    if (!profile)
      return sendHtml(
        reply,
        409,
        page(
          name,
          'No profile',
          '/account/devices',
          s.viewer,
          '<p class="error">This server offers no password sign-in for IMAP and SMTP, which Apple profiles need.</p>',
        ),
      );
    return reply
      .header('content-type', MOBILECONFIG_TYPE)
      .header('content-disposition', `attachment; filename="${s.account.domain}.mobileconfig"`)
      .header('cache-control', 'no-store')
      .send(profile);
  });

  scope.get<{ Params: { client: string } }>('/account/devices/:client', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const guide = clientGuide(request.params.client);
    if (!guide)
      return sendHtml(
        reply,
        404,
        page(
          name,
          'Unknown app',
          '/account/devices',
          s.viewer,
          '<p class="error">No such app here. <a href="/account/devices">Pick one from the list.</a></p>',
        ),
      );
    return devicePage(reply, s, guide, 200, '');
  });

  scope.post<{ Params: { client: string } }>('/account/devices/:client/app-password', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const guide = clientGuide(request.params.client);
    if (!guide) return reply.code(404).send();
    const r = await create(s, formOf(request));
    if ('error' in r) return devicePage(reply, s, guide, 400, `<p class="error" role="alert">${html(r.error)}</p>`);
    return devicePage(reply, s, guide, 200, shownOnce(r.name, r.secret));
  });
}
