import { createHash } from 'node:crypto';
import { SCOPES } from '../config/resources.ts';

/** Escapes text for HTML element content and double-quoted attributes. */
export function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:1.6rem 1.8rem}
h1{font-size:1.35rem;margin:0 0 .4rem}
p.lead{color:#505a6b;margin:0 0 1.2rem}
label{display:block;font-weight:600;margin:.8rem 0 .25rem}
input[type=email],input[type=password],input[type=text]{box-sizing:border-box;width:100%;font:inherit;padding:.55rem .6rem;border:1px solid #b8bfcc;border-radius:6px}
input[name=user_code]{text-transform:uppercase;letter-spacing:.15em;text-align:center}
button{font:inherit;font-weight:600;border:0;border-radius:6px;padding:.6rem 1rem;cursor:pointer}
button.primary{background:#2454d6;color:#fff;width:100%;margin-top:1.2rem}
button.secondary{background:none;color:#505a6b;width:100%;margin-top:.4rem}
.error{background:#fdecec;color:#8a1c1c;border-radius:6px;padding:.5rem .7rem;margin:.6rem 0}
.note{font-size:.85rem;color:#6a7385}
ul.scopes{padding-left:1.1rem}
ul.scopes li{margin:.25rem 0}
code.user-code{font-size:1.6rem;letter-spacing:.15em}
footer{text-align:center;font-size:.8rem;color:#4f5768;margin-top:1rem}
.or{text-align:center;color:#6a7385;margin:1rem 0 0}
`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * The Content-Security-Policy of every provider page: nothing loads but our inline style (by hash),
 * no framing, no base URL, forms may post only to this origin and to `formTargets` (the client's
 * redirect origin, which the post-login redirect chain reaches).
 */
export function pageCsp(formTargets: readonly string[] = []): string {
  const targets = ["'self'", ...formTargets.filter((t) => /^https?:\/\/[^\s;,']+$/.test(t))].join(' ');
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    "img-src 'self'",
    "script-src 'self'",
    `form-action ${targets}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The origin of a redirect URI, for `form-action`; undefined when it is not an http(s) URL. */
export function originOf(uri: unknown): string | undefined {
  if (typeof uri !== 'string') return undefined;
  const u = URL.parse(uri);
  return u && (u.protocol === 'https:' || u.protocol === 'http:') ? u.origin : undefined;
}

/** Headers every provider HTML page carries besides the CSP. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function layout(serverName: string, title: string, body: string, script?: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${html(title)} · ${html(serverName)}</title>
<style>${STYLE}</style>
${script ? `<script src="${html(script)}" defer></script>\n` : ''}</head>
<body>
<main>
${body}
</main>
<footer>${html(serverName)}</footer>
</body>
</html>`;
}

/** A human description of a scope for the consent page. */
export function describeScope(scope: string): string {
  switch (scope) {
    case 'openid':
      return 'Confirm who you are';
    case 'email':
      return 'See your email address';
    case 'profile':
      return 'See your name';
    case 'offline_access':
      return 'Stay signed in when you are not using it';
    case SCOPES.mail:
      return 'Read, send and organise your mail';
    case SCOPES.calendars:
      return 'See and change your calendars and free/busy time';
    case SCOPES.contacts:
      return 'See and change your address books';
    default:
      return scope;
  }
}

/** Shows which client asks; a self-registered client's name is its own claim (RFC 7591 §5). */
function clientLine(client: { name: string; id: string; verified: boolean }): string {
  if (client.verified) return `<strong>${html(client.name || client.id)}</strong>`;
  const name = client.name ? `“${html(client.name)}”` : 'An application';
  return `${name} <span class="note">(it named itself; not verified by this server)</span>`;
}

export interface LoginView {
  readonly serverName: string;
  readonly action: string;
  readonly abortAction: string;
  readonly csrf: string;
  readonly client: { name: string; id: string; verified: boolean };
  readonly email?: string;
  readonly error?: string;
  /** Passwordless sign-in with a passkey (WebAuthn), when offered. */
  readonly passkey?: PasskeyForm;
}

/** A form that runs a WebAuthn ceremony through the passkey script (src/idp/passkey-script.ts). */
export interface PasskeyForm {
  readonly action: string;
  /** The script's path on this origin. */
  readonly script: string;
  readonly options: object;
  readonly ticket: string;
  /** Hidden fields besides the ticket (CSRF token, pending sign-in). */
  readonly fields: Readonly<Record<string, string>>;
  readonly label: string;
}

/** The markup of a passkey form; without script it posts nothing usable and the server says so. */
export function passkeyForm(f: PasskeyForm, buttonClass = 'primary'): string {
  const hidden = Object.entries({ ...f.fields, ticket: f.ticket })
    .map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`)
    .join('\n');
  return `<form method="post" action="${html(f.action)}" data-webauthn="${'user' in f.options ? 'create' : 'get'}" data-options="${html(JSON.stringify(f.options))}">
${hidden}
<input type="hidden" name="webauthn" value="">
<button class="${buttonClass}" type="submit">${html(f.label)}</button>
<p class="note" data-webauthn-status role="status"></p>
</form>`;
}

/** The sign-in form (server-rendered; only the optional passkey button uses the script). */
export function loginPage(v: LoginView): string {
  return layout(
    v.serverName,
    'Sign in',
    `<h1>Sign in</h1>
<p class="lead">${clientLine(v.client)} wants to use your ${html(v.serverName)} account.</p>
${v.error ? `<p class="error" role="alert">${html(v.error)}</p>` : ''}
<form method="post" action="${html(v.action)}" autocomplete="on">
<input type="hidden" name="csrf" value="${html(v.csrf)}">
<label for="email">Email address</label>
<input id="email" type="email" name="email" value="${html(v.email ?? '')}" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
<button class="primary" type="submit">Sign in</button>
</form>
${v.passkey ? `<p class="or">or</p>\n${passkeyForm(v.passkey, 'secondary')}` : ''}
<form method="post" action="${html(v.abortAction)}">
<input type="hidden" name="csrf" value="${html(v.csrf)}">
<button class="secondary" type="submit">Cancel</button>
</form>`,
    v.passkey?.script,
  );
}

export interface SecondFactorView {
  readonly serverName: string;
  readonly action: string;
  readonly abortAction: string;
  readonly csrf: string;
  readonly pending: string;
  readonly account: string;
  /** A code field (TOTP or recovery code) is offered. */
  readonly code: boolean;
  readonly passkey?: PasskeyForm;
  readonly error?: string;
}

/** The second step of signing in: a TOTP or recovery code (RFC 6238), or a passkey. */
export function secondFactorPage(v: SecondFactorView): string {
  const code = v.code
    ? `<form method="post" action="${html(v.action)}">
<input type="hidden" name="csrf" value="${html(v.csrf)}">
<input type="hidden" name="pending" value="${html(v.pending)}">
<label for="code">Code from your authenticator app, or a recovery code</label>
<input id="code" type="text" name="code" autocomplete="one-time-code" maxlength="20" required autofocus>
<button class="primary" type="submit">Continue</button>
</form>`
    : '';
  return layout(
    v.serverName,
    'Confirm it is you',
    `<h1>Confirm it is you</h1>
<p class="lead">Signing in to <strong>${html(v.account)}</strong> needs a second step.</p>
${v.error ? `<p class="error" role="alert">${html(v.error)}</p>` : ''}
${code}
${v.passkey ? `${v.code ? '<p class="or">or</p>\n' : ''}${passkeyForm(v.passkey, v.code ? 'secondary' : 'primary')}` : ''}
<form method="post" action="${html(v.abortAction)}">
<input type="hidden" name="csrf" value="${html(v.csrf)}">
<button class="secondary" type="submit">Cancel</button>
</form>`,
    v.passkey?.script,
  );
}

export interface ConsentView {
  readonly serverName: string;
  readonly action: string;
  readonly abortAction: string;
  readonly csrf: string;
  readonly client: { name: string; id: string; verified: boolean };
  readonly account: string;
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  /** True for a device-code sign-in: warn about remote phishing (RFC 8628 §5.4). */
  readonly device: boolean;
}

/** The consent form: who asks, for which account, what it may do, and where. */
export function consentPage(v: ConsentView): string {
  const items = v.scopes.map((s) => `<li>${html(describeScope(s))}</li>`).join('\n');
  const where = v.resources.length ? `<p class="note">Services: ${v.resources.map((r) => `<code>${html(r)}</code>`).join(', ')}</p>` : '';
  const device = v.device
    ? '<p class="note">Only continue if you started this on a device you own and the code matched. Someone else may have sent you this code.</p>'
    : '';
  return layout(
    v.serverName,
    'Allow access',
    `<h1>Allow access?</h1>
<p class="lead">${clientLine(v.client)} asks to use <strong>${html(v.account)}</strong>:</p>
<ul class="scopes">
${items}
</ul>
${where}
${device}
<form method="post" action="${html(v.action)}">
<input type="hidden" name="csrf" value="${html(v.csrf)}">
<button class="primary" type="submit">Allow</button>
</form>
<form method="post" action="${html(v.abortAction)}">
<input type="hidden" name="csrf" value="${html(v.csrf)}">
<button class="secondary" type="submit">Deny</button>
</form>`,
  );
}

/** The device flow's code entry page around oidc-provider's form (`form` is its own trusted markup). */
export function deviceInputPage(serverName: string, form: string, error?: string): string {
  return layout(
    serverName,
    'Connect a device',
    `<h1>Connect a device</h1>
<p class="lead">Enter the code your device shows.</p>
${error ? `<p class="error" role="alert">${html(error)}</p>` : ''}
${form}
<button class="primary" type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

/** The device flow's confirmation page: the code must match what the device shows. */
export function deviceConfirmPage(
  serverName: string,
  form: string,
  client: { name: string; id: string; verified: boolean },
  userCode: string,
): string {
  return layout(
    serverName,
    'Confirm the device',
    `<h1>Confirm the device</h1>
<p class="lead">${clientLine(client)} asks to connect. Your device should show:</p>
<p><code class="user-code">${html(userCode)}</code></p>
<p class="note">If you did not start this, or the code is different, choose Abort.</p>
${form}
<button class="primary" type="submit" form="op.deviceConfirmForm">Continue</button>
<button class="secondary" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

/** The logout confirmation around oidc-provider's form. */
export function logoutPage(serverName: string, form: string): string {
  return layout(
    serverName,
    'Sign out',
    `<h1>Sign out?</h1>
<p class="lead">Sign out of ${html(serverName)} on this browser.</p>
${form}
<button class="primary" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

/** A page with a title and one sentence (success, errors). */
export function messagePage(serverName: string, title: string, text: string, isError = false): string {
  return layout(serverName, title, `<h1>${html(title)}</h1>\n<p class="${isError ? 'error' : 'lead'}">${html(text)}</p>`);
}
