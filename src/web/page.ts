import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { html } from '../idp/pages.ts';

export { html };

/**
 * The one stylesheet of the account page and admin console, served by this server under a name
 * that carries its hash (cache-busting), so the CSP needs no `unsafe-inline`. Same look as the
 * sign-in pages of the embedded provider (src/idp/pages.ts), wider and with a navigation bar.
 */
export const STYLE = `
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
header{background:#1d2330;color:#fff}
header .bar{max-width:60rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem}
header .brand{font-weight:700;margin-right:auto}
header nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem}
header a{color:#dbe3ff;text-decoration:none}
header a[aria-current=page]{color:#fff;text-decoration:underline;text-underline-offset:.3em}
header form{margin:0}
header button{background:none;color:#dbe3ff;padding:0;font-weight:400}
main{max-width:56rem;margin:1.5rem auto;background:#fff;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:1.4rem 1.6rem}
main.narrow{max-width:26rem;margin-top:3rem}
h1{font-size:1.35rem;margin:0 0 .4rem}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
p.lead{color:#505a6b;margin:0 0 1.2rem}
label{display:block;font-weight:600;margin:.8rem 0 .25rem}
label.check{display:inline-flex;gap:.35rem;align-items:center;font-weight:400;margin:.2rem 1rem .2rem 0}
input[type=email],input[type=password],input[type=text],input[type=number],select,textarea{box-sizing:border-box;width:100%;font:inherit;padding:.5rem .6rem;border:1px solid #b8bfcc;border-radius:6px;background:#fff}
textarea{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem;min-height:16rem}
button,a.button{display:inline-block;font:inherit;font-weight:600;border:0;border-radius:6px;padding:.5rem .9rem;cursor:pointer;text-decoration:none}
button.primary,a.button{background:#2454d6;color:#fff;margin-top:1rem}
button.danger{background:#fdecec;color:#8a1c1c}
button.small{padding:.25rem .6rem;font-size:.9rem}
button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #8fb0ff;outline-offset:1px}
.error{background:#fdecec;color:#8a1c1c;border-radius:6px;padding:.5rem .7rem;margin:.6rem 0}
.ok{background:#e8f6ec;color:#1b5e2e;border-radius:6px;padding:.5rem .7rem;margin:.6rem 0}
.secret{font:1.3rem/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.05em;background:#f4f5f7;border:1px dashed #8a93a6;border-radius:6px;padding:.6rem;word-break:break-all;margin:.4rem 0}
.note{font-size:.85rem;color:#6a7385}
ol.secret{padding-left:2.2rem;font-size:1.05rem}
ul.choices{list-style:none;padding:0}
ul.choices a.button{display:block;text-align:center;margin-top:.6rem}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{color:#505a6b;font-weight:600}
td form{margin:0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;overflow-wrap:anywhere}
dl.settings{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.4rem 0}
dl.settings dt{color:#505a6b}
dl.settings dd{margin:0}
ul.cards{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.6rem}
ul.cards a{display:block;border:1px solid #d6dae3;border-radius:8px;padding:.7rem;color:#1d2330;text-decoration:none}
ul.cards a:hover{border-color:#2454d6}
.qr svg{width:12rem;height:12rem}
.row{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
footer{text-align:center;font-size:.8rem;color:#4f5768;margin:1rem 0}
@media (max-width:30rem){main{margin:.6rem;padding:1rem}dl.settings{grid-template-columns:1fr}}
`;

/** The page icon (an envelope), so browsers find one here instead of a 404 at /favicon.ico. */
export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="3" width="14" height="10" rx="2" fill="#2454d6"/><path d="M2 4l6 5 6-5" fill="none" stroke="#fff" stroke-width="1.4"/></svg>`;

export const ICON_PATH = `/account/assets/icon-${createHash('sha256').update(ICON).digest('hex').slice(0, 12)}.svg`;

/** Where the stylesheet is served; the name changes whenever the stylesheet does. */
export const STYLE_PATH = `/account/assets/style-${createHash('sha256').update(STYLE).digest('hex').slice(0, 12)}.css`;

/**
 * The Content-Security-Policy of every account and admin page: no script at all, the stylesheet
 * from this origin, forms posting only here, never framed (CSP Level 3 `form-action`,
 * `frame-ancestors`).
 */
export const WEB_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The CSP of a page that runs the passkey script (src/idp/passkey-script.ts), from this origin only. */
export const WEB_CSP_SCRIPT = `${WEB_CSP}; script-src 'self'`;

/** Headers of every HTML page here. */
export const WEB_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': WEB_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Who is looking at a page, for the navigation bar. */
export interface Viewer {
  readonly address: string;
  readonly admin: boolean;
  /** The CSRF token of the viewer's session, for the sign-out form. */
  readonly csrf: string;
}

const ACCOUNT_NAV: ReadonlyArray<readonly [string, string]> = [
  ['/account', 'Overview'],
  ['/account/devices', 'Set up a device'],
  ['/account/app-passwords', 'App passwords'],
  ['/account/sessions', 'Devices and sessions'],
  ['/account/security', 'Security'],
  ['/account/sharing', 'Calendar sharing'],
  ['/account/calendars', 'Calendar feeds'],
  ['/account/filters', 'Filters'],
  ['/account/vacation', 'Vacation'],
];

const ADMIN_NAV: ReadonlyArray<readonly [string, string]> = [
  ['/admin', 'Console'],
  ['/admin/domains', 'Domains'],
  ['/admin/accounts', 'Accounts'],
  ['/admin/sessions', 'Sessions'],
  ['/admin/queue', 'Queue'],
  ['/admin/identity', 'Sign-in'],
];

/** A whole page: the navigation of the area `current` belongs to, then `body`. */
export function page(
  serverName: string,
  title: string,
  current: string,
  viewer: Viewer | undefined,
  body: string,
  script?: string,
): string {
  const area = current.startsWith('/admin') ? ADMIN_NAV : ACCOUNT_NAV;
  const links = viewer
    ? area.map(([href, label]) => `<a href="${href}"${href === current ? ' aria-current="page"' : ''}>${html(label)}</a>`).join('\n')
    : '';
  const switcher = viewer?.admin
    ? current.startsWith('/admin')
      ? '<a href="/account">My account</a>'
      : '<a href="/admin">Admin console</a>'
    : '';
  const signOut = viewer
    ? `<form method="post" action="/account/sign-out"><input type="hidden" name="csrf" value="${html(viewer.csrf)}"><button type="submit">Sign out ${html(viewer.address)}</button></form>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${html(title)} · ${html(serverName)}</title>
<link rel="stylesheet" href="${STYLE_PATH}">
<link rel="icon" href="${ICON_PATH}" type="image/svg+xml">
${script ? `<script src="${html(script)}" defer></script>\n` : ''}</head>
<body>
<header><div class="bar"><span class="brand">${html(serverName)}</span>
<nav aria-label="Main">
${links}
${switcher}
</nav>
${signOut}</div></header>
<main${viewer ? '' : ' class="narrow"'}>
${body}
</main>
<footer>${html(serverName)}</footer>
</body>
</html>`;
}

/** Sends a page with the headers above (`script`: the page loads the passkey script). */
export function sendHtml(reply: FastifyReply, status: number, body: string, options?: { script?: boolean }): FastifyReply {
  const r = reply.code(status).headers(WEB_HEADERS);
  if (options?.script) r.header('content-security-policy', WEB_CSP_SCRIPT);
  return r.send(body);
}

/** A hidden CSRF field for a form. */
export function csrfField(token: string): string {
  return `<input type="hidden" name="csrf" value="${html(token)}">`;
}

/** A date and time in UTC, readable and sortable; `-` for none. */
export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms <= 0) return '–';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d{2}\.\d{3}Z$/, ' UTC');
}
