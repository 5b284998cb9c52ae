import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountAdmin } from '../admin/accounts.ts';
import type { IssuerRegistry } from '../auth/issuers/registry.ts';
import type { SessionAdmin } from '../admin/sessions.ts';
import type { CalendarService } from '../calendar/service.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/log.ts';
import type { Directory, DirectoryAccount } from '../directory/directory.ts';
import type { EmbeddedIdp } from '../idp/idp.ts';
import type { SieveScripts } from '../mail/sieve/scripts.ts';
import type { VacationSettings } from '../mail/vacation/settings.ts';
import type { OutboundQueue } from '../mail/queue/queue.ts';
import type { DkimKeys } from '../mail/queue/dkim.ts';
import type { StorageQuota } from '../mail/store.ts';
import type { FreebusyAsks } from '../admin/freebusy-asks.ts';
import { html, page, sendHtml, type Viewer } from './page.ts';
import { SESSION_COOKIE, setCookie, type WebSession, type WebSessions } from './session.ts';

/** Everything the account page and admin console use: the same use cases as the admin CLI. */
export interface WebDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly directory: Directory;
  readonly accounts: AccountAdmin;
  readonly sessions: SessionAdmin;
  readonly idp: EmbeddedIdp;
  /** Trusted token issuers: those with `account_sign_in` are offered on the sign-in page. */
  readonly issuers: IssuerRegistry;
  readonly sieve: SieveScripts;
  /** The automatic reply settings (RFC 8621 §8), shared with JMAP and the responder. */
  readonly vacation: VacationSettings;
  /** Calendars: the free/busy sharing rule (src/calendar/service.ts). */
  readonly calendar: CalendarService;
  /** Who asked for free/busy and the answer (the calendar service records into it). */
  readonly freebusyAsks: FreebusyAsks;
  readonly queue: OutboundQueue;
  readonly dkim: DkimKeys;
  /** Storage quota of an account by address (src/admin/quota.ts). */
  readonly quota: {
    get(address: string): Promise<StorageQuota>;
    set(address: string, limit: number | null): Promise<StorageQuota>;
  };
  /** The local CA's certificate when it made the server certificate (profiles carry it). */
  readonly localCaPem: () => string | undefined;
}

/** A signed-in request: the session, the account as the directory has it now, and the CSRF token. */
export interface Signed {
  readonly session: WebSession;
  readonly account: DirectoryAccount;
  readonly viewer: Viewer;
}

export type Form = Record<string, string | undefined>;

const MAX_FORM = 128 * 1024;

/** A form parser for this plugin scope: `application/x-www-form-urlencoded`, bounded, repeated names kept as one comma list. */
export function formParser(scope: FastifyInstance): void {
  if (scope.hasContentTypeParser('application/x-www-form-urlencoded')) return;
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_FORM }, (_req, body, done) => {
    const out: Form = {};
    for (const [k, v] of new URLSearchParams(body as string)) out[k] = out[k] === undefined ? v : `${out[k]},${v}`;
    done(null, out);
  });
}

/** The form of a POST (empty for other bodies). */
export function formOf(request: FastifyRequest): Form {
  const b = request.body;
  return b && typeof b === 'object' && !Array.isArray(b) && !Buffer.isBuffer(b) ? (b as Form) : {};
}

/**
 * The guard of every page: the session cookie must verify and name an account that still exists
 * and is enabled (re-checked on every request); a POST must carry the session's CSRF token;
 * `admin` pages need the admin role. Answers the request itself and returns undefined otherwise.
 */
export async function signedIn(
  deps: WebDeps,
  web: WebSessions,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { admin?: boolean } = {},
): Promise<Signed | undefined> {
  const session = web.read(request.headers.cookie);
  const account = session ? await deps.directory.getAccount(session.accountId) : undefined;
  if (!session || !account || account.disabled || account.address !== session.address) {
    if (request.method === 'GET') {
      const next = (request.url.split('?')[0] ?? '/account').slice(0, 200);
      reply
        .code(303)
        .header('cache-control', 'no-store')
        .header('set-cookie', setCookie(SESSION_COOKIE, '', 0, 'Strict'))
        .redirect(`/account/sign-in?next=${encodeURIComponent(next)}`, 303);
    } else {
      refuse(deps, reply, 401, 'Signed out', 'Your session has ended. Sign in again and repeat what you did.');
    }
    return undefined;
  }
  const viewer: Viewer = { address: account.address, admin: account.isAdmin, csrf: web.csrf(session) };
  if (request.method !== 'GET' && request.method !== 'HEAD' && !web.checkCsrf(session, formOf(request).csrf)) {
    deps.logger.warn(
      { event: 'web_csrf_refused', account: account.address, url: request.routeOptions.url },
      'form without a valid CSRF token',
    );
    refuse(deps, reply, 403, 'Request refused', 'The form was not sent from this page. Go back, reload it and try again.', viewer);
    return undefined;
  }
  if (options.admin && !account.isAdmin) {
    refuse(deps, reply, 403, 'Administrators only', 'This page is for accounts with the admin role.', viewer);
    return undefined;
  }
  return { session, account, viewer };
}

/** An error page in the site's look. */
export function refuse(deps: WebDeps, reply: FastifyReply, status: number, title: string, text: string, viewer?: Viewer): FastifyReply {
  return sendHtml(
    reply,
    status,
    page(
      deps.config.server.name,
      title,
      '/account/error',
      viewer,
      `<h1>${html(title)}</h1>\n<p class="error" role="alert">${html(text)}</p>`,
    ),
  );
}

/** A 303 to a page with a short outcome code the page turns into a sentence (Post/Redirect/Get). */
export function done(reply: FastifyReply, path: string, outcome: string): FastifyReply {
  return reply
    .code(303)
    .header('cache-control', 'no-store')
    .redirect(`${path}?done=${encodeURIComponent(outcome)}`, 303);
}

/** The outcome sentence of a `done` redirect, as an alert paragraph (fixed texts only, never echoed input). */
export function outcome(request: FastifyRequest, texts: Readonly<Record<string, string>>): string {
  const code = (request.query as Record<string, unknown>)?.done;
  const text = typeof code === 'string' ? texts[code] : undefined;
  return text ? `<p class="ok" role="status">${html(text)}</p>` : '';
}

/** A user-facing sentence for an error of a use case; unexpected ones are logged and named generically. */
export function problemText(deps: WebDeps, err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name === 'FingerpostError' && e.message) return e.message;
  deps.logger.error({ err }, 'account page action failed');
  return 'Something went wrong; the server log has details.';
}
