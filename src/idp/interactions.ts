import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpsApp } from './http-app.ts';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { AuthCore } from '../auth/types.ts';
import type { Logger } from '../core/log.ts';
import { peerOf } from '../net/listener.ts';
import type { CsrfTokens } from './csrf.ts';
import { type DeviceCookies, deviceCookieOf } from './device-cookie.ts';
import { consentPage, loginPage, messagePage, originOf, PAGE_HEADERS, pageCsp } from './pages.ts';

export interface InteractionDeps {
  readonly provider: () => Provider;
  /**
   * The auth core: the sign-in form shares its failure limits (the one rule of every protocol),
   * metrics and audit with IMAP, POP3, SMTP and HTTP; it has no limiter of its own.
   */
  readonly auth: Pick<AuthCore, 'authenticate'>;
  readonly csrf: CsrfTokens;
  /** The signed cookie that makes this browser a known device for the accounts it signed in to. */
  readonly devices: DeviceCookies;
  readonly logger: Logger;
  readonly serverName: string;
  /** The issuer's path, e.g. `/oidc`: routes live under `${mountPath}/interaction/:uid`. */
  readonly mountPath: string;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;
type Form = Record<string, string | undefined>;

/** Registers an `application/x-www-form-urlencoded` parser for this plugin scope only (small bodies). */
function formParser(scope: FastifyInstance): void {
  if (scope.hasContentTypeParser('application/x-www-form-urlencoded')) return;
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
}

function sendPage(reply: FastifyReply, status: number, body: string, formTargets: readonly string[] = []): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).header('content-security-policy', pageCsp(formTargets)).send(body);
}

async function clientView(provider: Provider, clientId: unknown): Promise<{ name: string; id: string; verified: boolean }> {
  const id = typeof clientId === 'string' ? clientId : '';
  const client = id ? await provider.Client.find(id) : undefined;
  const meta = (client?.metadata() ?? {}) as Record<string, unknown>;
  return { id, name: typeof meta.client_name === 'string' ? meta.client_name : '', verified: meta.fingerpost_verified === true };
}

/**
 * The server-rendered sign-in and consent pages of the embedded provider (oidc-provider's
 * interaction API). No script, a strict CSP, CSRF tokens bound to the interaction, one answer for
 * unknown user and wrong password, and the auth core's failure limits: a correct password from an
 * address that has not failed, or from a browser holding the device cookie, is never refused.
 */
export function registerInteractions(app: HttpsApp, deps: InteractionDeps): void {
  const base = `${deps.mountPath}/interaction/:uid`;

  app.register(async (scope) => {
    formParser(scope);

    /** Loads the interaction from oidc-provider's cookie and checks it is the one in the URL. */
    const load = async (request: FastifyRequest, reply: FastifyReply): Promise<Interaction | undefined> => {
      let details: Interaction;
      try {
        details = await deps.provider().interactionDetails(request.raw, reply.raw);
      } catch {
        sendPage(
          reply,
          400,
          messagePage(
            deps.serverName,
            'Sign-in expired',
            'This sign-in has expired or was opened in another browser. Start again from your app.',
            true,
          ),
        );
        return undefined;
      }
      if (details.uid !== (request.params as { uid: string }).uid) {
        sendPage(
          reply,
          400,
          messagePage(deps.serverName, 'Sign-in expired', 'This sign-in does not belong to this browser. Start again from your app.', true),
        );
        return undefined;
      }
      return details;
    };

    const checkCsrf = (details: Interaction, request: FastifyRequest, reply: FastifyReply): boolean => {
      const form = (request.body ?? {}) as Form;
      if (deps.csrf.verify(details.uid, form.csrf)) return true;
      sendPage(
        reply,
        403,
        messagePage(deps.serverName, 'Request refused', 'The form was not sent from this page. Go back and try again.', true),
      );
      return false;
    };

    const finish = async (request: FastifyRequest, reply: FastifyReply, result: InteractionResults) => {
      const returnTo = await deps.provider().interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
      return reply.code(303).header('cache-control', 'no-store').redirect(returnTo, 303);
    };

    const actions = (uid: string) => ({
      login: `${deps.mountPath}/interaction/${encodeURIComponent(uid)}/login`,
      consent: `${deps.mountPath}/interaction/${encodeURIComponent(uid)}/consent`,
      abort: `${deps.mountPath}/interaction/${encodeURIComponent(uid)}/abort`,
    });

    const renderLogin = async (reply: FastifyReply, details: Interaction, status: number, error?: string, email?: string) => {
      const a = actions(details.uid);
      const client = await clientView(deps.provider(), details.params.client_id);
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
      return sendPage(
        reply,
        status,
        loginPage({
          serverName: deps.serverName,
          action: a.login,
          abortAction: a.abort,
          csrf: deps.csrf.issue(details.uid),
          client,
          email: email ?? hint,
          error,
        }),
        [originOf(details.params.redirect_uri)].filter((o): o is string => !!o),
      );
    };

    scope.get(base, async (request, reply) => {
      const details = await load(request, reply);
      if (!details) return reply;
      if (details.prompt.name === 'login') return renderLogin(reply, details, 200);
      if (details.prompt.name !== 'consent') {
        return sendPage(
          reply,
          400,
          messagePage(deps.serverName, 'Cannot continue', 'This request needs a step this server does not offer.', true),
        );
      }
      const a = actions(details.uid);
      const d = details.prompt.details as {
        missingOIDCScope?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const resourceScopes = Object.values(d.missingResourceScopes ?? {}).flat();
      const scopes = [...new Set([...(d.missingOIDCScope ?? []), ...resourceScopes])];
      return sendPage(
        reply,
        200,
        consentPage({
          serverName: deps.serverName,
          action: a.consent,
          abortAction: a.abort,
          csrf: deps.csrf.issue(details.uid),
          client: await clientView(deps.provider(), details.params.client_id),
          account: details.session?.accountId ?? '',
          scopes: scopes.length ? scopes : ['openid'],
          resources: Object.keys(d.missingResourceScopes ?? {}),
          device: details.deviceCode !== undefined,
        }),
        [originOf(details.params.redirect_uri)].filter((o): o is string => !!o),
      );
    });

    scope.post(`${base}/login`, async (request, reply) => {
      const details = await load(request, reply);
      if (!details || !checkCsrf(details, request, reply)) return reply;
      if (details.prompt.name !== 'login') return reply.redirect(`${deps.mountPath}/interaction/${encodeURIComponent(details.uid)}`, 303);
      const form = (request.body ?? {}) as Form;
      const email = (form.email ?? '').trim().toLowerCase().slice(0, 320);
      const password = form.password ?? '';
      const ip = peerOf(request.raw.socket).remoteAddress;
      const cookie = deviceCookieOf(request.headers.cookie);
      const device = deps.devices.verify(cookie, email);
      // The account password only (never an app password), checked by the auth core under the
      // failure limits of every protocol: failures here count on IMAP and SMTP and the reverse.
      const outcome =
        email && password
          ? await deps.auth.authenticate(
              { kind: 'password', username: email, password, mechanism: 'FORM' },
              { protocol: 'http', listener: 'https', remote: ip, tls: true, ...(device ? { device } : {}) },
            )
          : undefined;
      if (outcome && !outcome.ok && outcome.code === 'rate_limited') {
        deps.logger.warn({ event: 'idp_login', account: email, ip, result: 'rate_limited' }, 'sign-in refused');
        const seconds = Math.max(1, Math.ceil((outcome.retryAfterMs ?? 60_000) / 1000));
        reply.header('retry-after', String(seconds));
        return renderLogin(
          reply,
          details,
          429,
          `Too many failed sign-ins from this address. Try again in ${Math.ceil(seconds / 60)} minute(s), or from a device you signed in with before.`,
          email,
        );
      }
      if (!outcome?.ok || outcome.method !== 'password') return renderLogin(reply, details, 401, 'Wrong email address or password.', email);
      const account = outcome.account;
      deps.logger.info(
        { event: 'idp_login', account: account.address, ip, result: 'ok', ...(device ? { device: 'known' } : {}) },
        'signed in',
      );
      // On the raw response: oidc-provider adds its own cookies there, and fastify's headers would replace them.
      reply.raw.appendHeader('set-cookie', deps.devices.header(deps.devices.issue(cookie, email), `${deps.mountPath}/interaction`));
      return finish(request, reply, { login: { accountId: account.address, amr: ['pwd'] } });
    });

    scope.post(`${base}/consent`, async (request, reply) => {
      const details = await load(request, reply);
      if (!details || !checkCsrf(details, request, reply)) return reply;
      if (details.prompt.name !== 'consent' || !details.session?.accountId) {
        return reply.redirect(`${deps.mountPath}/interaction/${encodeURIComponent(details.uid)}`, 303);
      }
      const provider = deps.provider();
      const d = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const grant =
        (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
        new provider.Grant({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
      if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      deps.logger.info({ event: 'idp_consent', account: details.session.accountId, client: details.params.client_id }, 'access granted');
      return finish(request, reply, { consent: { grantId } });
    });

    scope.post(`${base}/abort`, async (request, reply) => {
      const details = await load(request, reply);
      if (!details || !checkCsrf(details, request, reply)) return reply;
      return finish(request, reply, { error: 'access_denied', error_description: 'End-User aborted interaction' });
    });
  });
}
