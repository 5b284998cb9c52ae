import type { FastifyInstance, FastifyReply } from 'fastify';
import { passkeyForm } from '../idp/pages.ts';
import { passkeyScriptPath } from '../idp/passkey-script.ts';
import { WindowLimiter } from '../idp/rate-limit.ts';
import { base32Decode, otpauthUri } from '../idp/totp.ts';
import { done, type Form, formOf, outcome, problemText, type Signed, signedIn, type WebDeps } from './context.ts';
import { csrfField, html, page, sendHtml, when } from './page.ts';
import { qrSvg } from './qr.ts';
import type { WebSessions } from './session.ts';

const MAX_PASSKEY_NAME = 64;

const DONE: Readonly<Record<string, string>> = {
  password: 'Your password was changed.',
  'totp-off': 'The authenticator app no longer works for signing in.',
  'passkey-added': 'The passkey was added. You can sign in with it.',
  'passkey-removed': 'The passkey was removed.',
};

function currentPassword(account: string, id: string): string {
  return `<input type="text" name="username" value="${html(account)}" autocomplete="username" hidden>
<label for="${id}">Current password</label>
<input id="${id}" type="password" name="current" autocomplete="current-password" required>`;
}

function recoveryList(codes: readonly string[]): string {
  return `<div class="ok" role="status"><p><strong>Your recovery codes.</strong> Keep them somewhere safe (printed, or in a password manager): each works once, instead of a code from your app, and they are shown only this once.</p>
<ol class="secret" id="recovery-codes">${codes.map((c) => `<li>${html(c)}</li>`).join('')}</ol></div>`;
}

/**
 * The Security page of the account: password change, TOTP (RFC 6238) with an `otpauth://` QR
 * code, single-use recovery codes shown once, and passkeys (WebAuthn registration through
 * src/idp/passkeys.ts). Every change needs the current password (throttled per account) or, for
 * confirming TOTP, a code from the app; every form carries the session's CSRF token.
 */
export function registerSecurityRoutes(scope: FastifyInstance, deps: WebDeps, web: WebSessions): void {
  const name = deps.config.server.name;
  const factors = deps.idp.secondFactors;
  const script = passkeyScriptPath(new URL(deps.idp.issuer).pathname.replace(/\/$/, ''));
  // Password guesses from the account page: a few per account and window, as at the sign-in page.
  const guesses = new WindowLimiter({ limit: 5, windowMs: deps.config.idp.login_window });

  const show = async (reply: FastifyReply, s: Signed, status: number, top: string, extra?: { passkey?: string }) => {
    const st = await factors.status(s.account.address);
    const csrf = s.viewer.csrf;
    const local = s.account.passwordHash !== null;
    const passwordForm = local
      ? `<form method="post" action="/account/security/password">
${csrfField(csrf)}
${currentPassword(s.account.address, 'current')}
<label for="new">New password (at least 8 characters)</label>
<input id="new" type="password" name="new" autocomplete="new-password" minlength="8" required>
<label for="again">New password again</label>
<input id="again" type="password" name="again" autocomplete="new-password" minlength="8" required>
<button class="primary" type="submit">Change password</button>
</form>
<p class="note">Changing it signs out every app that used the old password; app passwords keep working.</p>`
      : '<p class="note">Your password is kept by your organisation’s directory; change it there.</p>';
    const totp = st.totp
      ? `<p><strong>On.</strong> Signing in here asks for a code from your authenticator app after your password.</p>
<form method="post" action="/account/security/totp/disable">${csrfField(csrf)}
${currentPassword(s.account.address, 'totp-off-current')}
<button class="danger" type="submit">Turn off the authenticator app</button></form>`
      : `<p>Off. With an authenticator app (for example FreeOTP, Aegis, Google Authenticator or a password manager) signing in here also asks for a six-digit code that changes every 30 seconds.</p>
<form method="post" action="/account/security/totp/start">${csrfField(csrf)}
${currentPassword(s.account.address, 'totp-current')}
<button class="primary" type="submit">Set up an authenticator app</button></form>`;
    const recovery = `<p>${st.recoveryLeft} unused recovery code(s). Each one works once instead of a code from your app or a passkey.</p>
<form method="post" action="/account/security/recovery">${csrfField(csrf)}
${currentPassword(s.account.address, 'recovery-current')}
<button class="primary" type="submit">Make new recovery codes</button>
<p class="note">New codes replace every earlier one.</p></form>`;
    const rows = st.passkeys.map(
      (p) => `<tr><td>${html(p.name)}</td><td>${when(p.createdAt)}</td><td>${p.lastUsedAt ? when(p.lastUsedAt) : 'Never'}</td>
<td><form method="post" action="/account/security/passkeys/${p.id}/remove">${csrfField(csrf)}
<input type="text" name="username" value="${html(s.account.address)}" autocomplete="username" hidden>
<label class="check" for="pk-${p.id}">Current password</label>
<input id="pk-${p.id}" type="password" name="current" autocomplete="current-password" required>
<button class="danger small" type="submit" aria-label="Remove passkey ${html(p.name)}">Remove</button></form></td></tr>`,
    );
    const passkeys = `${rows.length ? `<div class="table"><table><thead><tr><th>Passkey</th><th>Added</th><th>Last used</th><th></th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>` : '<p class="note">No passkeys yet.</p>'}
${
  extra?.passkey ??
  `<form method="post" action="/account/security/passkeys/start">${csrfField(csrf)}
<label for="pk-name">Name (which device or key)</label>
<input id="pk-name" type="text" name="name" maxlength="${MAX_PASSKEY_NAME}" required placeholder="e.g. Laptop, security key">
${currentPassword(s.account.address, 'pk-current')}
<button class="primary" type="submit">Add a passkey</button></form>`
}`;
    return sendHtml(
      reply,
      status,
      page(
        name,
        'Security',
        '/account/security',
        s.viewer,
        `<h1>Security</h1>
${top}
<h2>Change your password</h2>
${passwordForm}
<h2>Authenticator app</h2>
${totp}
<h2>Passkeys</h2>
<p>A passkey (on this device, a phone or a security key) signs you in here without a password, or confirms it is you after your password.</p>
${passkeys}
<h2>Recovery codes</h2>
${recovery}`,
        extra?.passkey ? script : undefined,
      ),
      extra?.passkey ? { script: true } : undefined,
    );
  };
  const error = (text: string) => `<p class="error" role="alert">${html(text)}</p>`;

  /** The current password of a form, checked under the per-account limit; an error text or undefined. */
  const checkPassword = async (s: Signed, form: Form): Promise<string | undefined> => {
    const key = s.account.address;
    const wait = guesses.blockedFor(key);
    if (wait > 0) return `Too many wrong passwords. Try again in ${Math.ceil(wait / 60_000)} minute(s).`;
    if (!form.current || form.current.length > 1024 || !(await deps.directory.verifyPassword(s.account, form.current))) {
      guesses.hit(key);
      deps.logger.warn({ event: 'web_password_refused', account: key }, 'wrong current password');
      return 'The current password is wrong.';
    }
    guesses.reset(key);
    return undefined;
  };

  scope.get('/account/security', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    return show(reply, s, 200, outcome(request, DONE));
  });

  scope.post('/account/security/password', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const form = formOf(request);
    if (!form.current || !form.new || form.new.length > 1024) return show(reply, s, 400, error('Fill in every field.'));
    if (form.new !== form.again) return show(reply, s, 400, error('The two new passwords differ.'));
    const wrong = await checkPassword(s, form);
    if (wrong) return show(reply, s, 400, error(wrong));
    try {
      await deps.accounts.setPassword(s.account.address, form.new);
    } catch (err) {
      return show(reply, s, 400, error(problemText(deps, err)));
    }
    deps.logger.info({ event: 'web_password_changed', account: s.account.address }, 'password changed');
    return done(reply, '/account/security', 'password');
  });

  // ---- TOTP ----
  const totpSetup = async (reply: FastifyReply, s: Signed, status: number, key: string, top = '') => {
    const uri = otpauthUri(name, s.account.address, base32Decode(key) ?? Buffer.alloc(0));
    return sendHtml(
      reply,
      status,
      page(
        name,
        'Set up an authenticator app',
        '/account/security',
        s.viewer,
        `<h1>Set up an authenticator app</h1>
${top}
<ol><li>Scan this code with your authenticator app, or enter the key by hand.</li><li>Enter the six-digit code the app shows.</li></ol>
<div class="row"><div class="qr">${qrSvg(uri, 'QR code for the authenticator app')}</div>
<p>Key: <code id="totp-key">${html(key.replace(/(.{4})/g, '$1 ').trim())}</code><br><span class="note">Time-based, 6 digits, every 30 seconds (SHA-1).</span></p></div>
<form method="post" action="/account/security/totp/confirm">${csrfField(s.viewer.csrf)}
<label for="code">Code from the app</label>
<input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required>
<button class="primary" type="submit">Turn on</button></form>
<p><a href="/account/security">Cancel</a></p>`,
      ),
    );
  };

  scope.post('/account/security/totp/start', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const wrong = await checkPassword(s, formOf(request));
    if (wrong) return show(reply, s, 400, error(wrong));
    if ((await factors.status(s.account.address)).totp) return show(reply, s, 409, error('The authenticator app is already on.'));
    return totpSetup(reply, s, 200, await factors.startTotp(s.account.address));
  });

  scope.post('/account/security/totp/confirm', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const key = await factors.pendingTotp(s.account.address);
    if (!key) return show(reply, s, 409, error('Start setting up the authenticator app again.'));
    const wait = guesses.blockedFor(s.account.address);
    if (wait > 0) return totpSetup(reply, s, 429, key, error(`Too many wrong codes. Try again in ${Math.ceil(wait / 60_000)} minute(s).`));
    if (!(await factors.confirmTotp(s.account.address, formOf(request).code ?? ''))) {
      guesses.hit(s.account.address);
      return totpSetup(reply, s, 400, key, error('That code does not match. Check the time on the phone and enter the current code.'));
    }
    deps.logger.info({ event: 'web_totp_on', account: s.account.address }, 'authenticator app turned on');
    const st = await factors.status(s.account.address);
    const codes = st.recoveryLeft ? [] : await factors.newRecoveryCodes(s.account.address);
    return show(
      reply,
      s,
      200,
      `<p class="ok" role="status">The authenticator app is on: signing in asks for its code after your password.</p>${codes.length ? recoveryList(codes) : ''}`,
    );
  });

  scope.post('/account/security/totp/disable', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const wrong = await checkPassword(s, formOf(request));
    if (wrong) return show(reply, s, 400, error(wrong));
    await factors.disableTotp(s.account.address);
    deps.logger.info({ event: 'web_totp_off', account: s.account.address }, 'authenticator app turned off');
    return done(reply, '/account/security', 'totp-off');
  });

  // ---- Recovery codes ----
  scope.post('/account/security/recovery', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const wrong = await checkPassword(s, formOf(request));
    if (wrong) return show(reply, s, 400, error(wrong));
    const codes = await factors.newRecoveryCodes(s.account.address);
    deps.logger.info({ event: 'web_recovery_codes', account: s.account.address }, 'new recovery codes');
    return show(reply, s, 200, recoveryList(codes));
  });

  // ---- Passkeys ----
  scope.post('/account/security/passkeys/start', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const form = formOf(request);
    const label = (form.name ?? '').trim();
    if (!label || label.length > MAX_PASSKEY_NAME || /[\u0000-\u001f\u007f]/.test(label))
      return show(reply, s, 400, error(`Give the passkey a name of 1 to ${MAX_PASSKEY_NAME} characters.`));
    const wrong = await checkPassword(s, form);
    if (wrong) return show(reply, s, 400, error(wrong));
    const c = await deps.idp.passkeys.registration(s.account.address, s.session.sid);
    const f = passkeyForm(
      {
        action: '/account/security/passkeys/finish',
        script,
        options: c.options,
        ticket: c.ticket,
        fields: { csrf: s.viewer.csrf, name: label },
        label: `Create the passkey “${label}”`,
      },
      'primary',
    );
    return show(reply, s, 200, '<p class="ok" role="status">Now create the passkey: your browser or security key will ask.</p>', {
      passkey: f,
    });
  });

  scope.post('/account/security/passkeys/finish', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const form = formOf(request);
    const label = (form.name ?? '').trim().slice(0, MAX_PASSKEY_NAME) || 'Passkey';
    if (!form.webauthn) return show(reply, s, 400, error('Adding a passkey needs JavaScript in this browser.'));
    let ok = false;
    try {
      ok = await deps.idp.passkeys.finishRegistration(s.account.address, s.session.sid, form.ticket, form.webauthn, label);
    } catch (err) {
      return show(reply, s, 400, error(problemText(deps, err)));
    }
    if (!ok) return show(reply, s, 400, error('The passkey could not be checked. Start again.'));
    deps.logger.info({ event: 'web_passkey_added', account: s.account.address }, 'passkey added');
    return done(reply, '/account/security', 'passkey-added');
  });

  scope.post<{ Params: { id: string } }>('/account/security/passkeys/:id/remove', async (request, reply) => {
    const s = await signedIn(deps, web, request, reply);
    if (!s) return reply;
    const wrong = await checkPassword(s, formOf(request));
    if (wrong) return show(reply, s, 400, error(wrong));
    const id = request.params.id;
    if (!/^\d{1,15}$/.test(id) || !(await factors.removePasskey(s.account.address, Number(id))))
      return show(reply, s, 404, error('No such passkey.'));
    deps.logger.info({ event: 'web_passkey_removed', account: s.account.address }, 'passkey removed');
    return done(reply, '/account/security', 'passkey-removed');
  });
}
