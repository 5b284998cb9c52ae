import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpsApp } from './http-app.ts';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { AuthCore } from '../auth/types.ts';
import type { Logger } from '../core/log.ts';
import { peerOf } from '../net/listener.ts';
import type { CsrfTokens } from './csrf.ts';
import { createHmac } from 'node:crypto';
import { type DeviceCookies, deviceCookieOf } from './device-cookie.ts';
import { consentPage, loginPage, messagePage, originOf, PAGE_HEADERS, type PasskeyForm, pageCsp, secondFactorPage } from './pages.ts';
import { PASSKEY_JS, passkeyScriptPath } from './passkey-script.ts';
import type { Passkeys } from './passkeys.ts';
import type { WindowLimiter } from './rate-limit.ts';
import type { SecondFactors } from './second-factor.ts';
import { sameSecret } from '../core/constant-time.ts';

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
  /** TOTP, recovery codes and passkeys of accounts (src/idp/second-factor.ts). */
  readonly secondFactors: SecondFactors;
  readonly passkeys: Passkeys;
  /** Signs the "password was right" ticket between the two steps of a sign-in. */
  readonly pendingKey: Buffer;
  /** Second-step attempts per account (codes are guessable: RFC 6238 §5.2 asks for throttling). */
  readonly secondStepLimit: WindowLimiter;
  /** True when the address names an enabled account (a passkey alone signs in only such). */
  readonly accountEnabled: (address: string) => Promise<boolean>;
  /** Told when an account signs in from a browser that never signed in to it (the new-device notice). */
  readonly onNewDevice?: (notice: NewDeviceSignIn) => void;
}

/** A sign-in from a browser without the device cookie for that account. */
export interface NewDeviceSignIn {
  readonly account: string;
  readonly ip: string;
  readonly userAgent: string;
  /** Epoch ms. */
  readonly at: number;
  /** How: `password`, `password+totp`, `password+recovery`, `password+passkey`, `passkey`. */
  readonly method: string;
}

/** How long the second step may take after the password was right. */
const PENDING_MS = 5 * 60_000;

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
      second: `${deps.mountPath}/interaction/${encodeURIComponent(uid)}/second`,
      passkey: `${deps.mountPath}/interaction/${encodeURIComponent(uid)}/passkey`,
    });

    const renderSecond = async (reply: FastifyReply, details: Interaction, account: string, status: number, error?: string) => {
      const a = actions(details.uid);
      const csrf = deps.csrf.issue(details.uid);
      const pending = pendingTicket(details.uid, account);
      const status2 = await deps.secondFactors.status(account);
      return sendPage(
        reply,
        status,
        secondFactorPage({
          serverName: deps.serverName,
          action: a.second,
          abortAction: a.abort,
          csrf,
          pending,
          account,
          code: status2.totp || status2.recoveryLeft > 0,
          ...(status2.passkeys.length
            ? { passkey: await passkeyFor(details.uid, a.second, 'Use a passkey', { csrf, pending }, account) }
            : {}),
          ...(error ? { error } : {}),
        }),
        [originOf(details.params.redirect_uri)].filter((o): o is string => !!o),
      );
    };

    /** Ends a sign-in: the device cookie, the new-device notice when this browser is new to the account, the provider's result. */
    const complete = async (request: FastifyRequest, reply: FastifyReply, account: string, method: string, amr: string[]) => {
      const ip = peerOf(request.raw.socket).remoteAddress;
      const cookie = deviceCookieOf(request.headers.cookie);
      const known = deps.devices.verify(cookie, account);
      deps.logger.info({ event: 'idp_login', account, ip, result: 'ok', method, ...(known ? { device: 'known' } : {}) }, 'signed in');
      if (!known)
        deps.onNewDevice?.({ account, ip, userAgent: String(request.headers['user-agent'] ?? '').slice(0, 200), at: Date.now(), method });
      // On the raw response: oidc-provider adds its own cookies there, and fastify's headers would replace them.
      reply.raw.appendHeader('set-cookie', deps.devices.header(deps.devices.issue(cookie, account), `${deps.mountPath}/interaction`));
      return finish(request, reply, { login: { accountId: account, amr } });
    };

    const script = passkeyScriptPath(deps.mountPath);
    scope.get(script, async (_request, reply) =>
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(PASSKEY_JS),
    );

    /** The signed ticket saying the password of `account` was right for interaction `uid` at `at`. */
    const pendingMac = (uid: string, account: string, at: number) =>
      createHmac('sha256', deps.pendingKey).update(`pending\0${uid}\0${account}\0${at}`).digest('base64url');
    const pendingTicket = (uid: string, account: string) => {
      const at = Date.now();
      return `${Buffer.from(account).toString('base64url')}.${at.toString(36)}.${pendingMac(uid, account, at)}`;
    };
    const openPending = (uid: string, ticket: unknown): string | undefined => {
      if (typeof ticket !== 'string' || ticket.length > 1024) return undefined;
      const [a, t, mac] = ticket.split('.');
      if (!a || !t || !mac) return undefined;
      const account = Buffer.from(a, 'base64url').toString('utf8');
      const at = Number.parseInt(t, 36);
      const age = Date.now() - at;
      return age >= 0 && age < PENDING_MS && sameSecret(mac, pendingMac(uid, account, at)) ? account : undefined;
    };

    const passkeyFor = async (uid: string, action: string, label: string, fields: Record<string, string>, account?: string) => {
      const c = await deps.passkeys.authentication(uid, account);
      return { action, script, options: c.options, ticket: c.ticket, fields, label } satisfies PasskeyForm;
    };

    const renderLogin = async (reply: FastifyReply, details: Interaction, status: number, error?: string, email?: string) => {
      const a = actions(details.uid);
      const csrf = deps.csrf.issue(details.uid);
      const client = await clientView(deps.provider(), details.params.client_id);
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
      return sendPage(
        reply,
        status,
        loginPage({
          serverName: deps.serverName,
          action: a.login,
          abortAction: a.abort,
          csrf,
          client,
          email: email ?? hint,
          error,
          passkey: await passkeyFor(details.uid, a.passkey, 'Sign in with a passkey', { csrf }),
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
      if (await deps.secondFactors.required(account.address)) {
        deps.logger.info({ event: 'idp_login', account: account.address, ip, result: 'second_step' }, 'password right, second step');
        return renderSecond(reply, details, account.address, 200);
      }
      return complete(request, reply, account.address, 'password', ['pwd']);
    });

    // The second step: a TOTP code (RFC 6238), a recovery code, or a passkey (WebAuthn §7.2).
    scope.post(`${base}/second`, async (request, reply) => {
      const details = await load(request, reply);
      if (!details || !checkCsrf(details, request, reply)) return reply;
      if (details.prompt.name !== 'login') return reply.redirect(`${deps.mountPath}/interaction/${encodeURIComponent(details.uid)}`, 303);
      const form = (request.body ?? {}) as Form;
      const account = openPending(details.uid, form.pending);
      if (!account) return renderLogin(reply, details, 400, 'The sign-in took too long. Enter your password again.');
      const ip = peerOf(request.raw.socket).remoteAddress;
      const wait = deps.secondStepLimit.blockedFor(account);
      if (wait > 0) {
        deps.logger.warn({ event: 'idp_login', account, ip, result: 'second_step_limited' }, 'second step refused');
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return renderSecond(reply, details, account, 429, `Too many wrong codes. Try again in ${Math.ceil(wait / 60_000)} minute(s).`);
      }
      let method: string | undefined;
      if (form.webauthn) {
        if ((await deps.passkeys.finishAuthentication(details.uid, form.ticket, form.webauthn)) === account) method = 'password+passkey';
      } else {
        const code = (form.code ?? '').trim().slice(0, 40);
        if (/^\d{6}$/.test(code.replace(/\s/g, ''))) {
          if (await deps.secondFactors.checkTotp(account, code)) method = 'password+totp';
        } else if (code && (await deps.secondFactors.useRecoveryCode(account, code))) method = 'password+recovery';
      }
      if (!method) {
        deps.secondStepLimit.hit(account);
        deps.logger.warn({ event: 'idp_login', account, ip, result: 'second_step_failed' }, 'second step failed');
        return renderSecond(
          reply,
          details,
          account,
          401,
          form.webauthn ? 'That passkey did not confirm it is you.' : 'That code is wrong or was already used.',
        );
      }
      deps.secondStepLimit.reset(account);
      return complete(request, reply, account, method, method === 'password+passkey' ? ['pwd', 'hwk'] : ['pwd', 'otp']);
    });

    // Passwordless: a discoverable passkey with user verification is both factors (WebAuthn §7.2).
    scope.post(`${base}/passkey`, async (request, reply) => {
      const details = await load(request, reply);
      if (!details || !checkCsrf(details, request, reply)) return reply;
      if (details.prompt.name !== 'login') return reply.redirect(`${deps.mountPath}/interaction/${encodeURIComponent(details.uid)}`, 303);
      const form = (request.body ?? {}) as Form;
      if (!form.webauthn) return renderLogin(reply, details, 400, 'Signing in with a passkey needs JavaScript in this browser.');
      const account = await deps.passkeys.finishAuthentication(details.uid, form.ticket, form.webauthn);
      if (!account) {
        deps.logger.warn({ event: 'idp_login', ip: peerOf(request.raw.socket).remoteAddress, result: 'passkey_failed' }, 'passkey refused');
        return renderLogin(reply, details, 401, 'That passkey is not known here.');
      }
      if (!(await deps.accountEnabled(account))) return renderLogin(reply, details, 401, 'That passkey is not known here.');
      return complete(request, reply, account, 'passkey', ['hwk', 'user']);
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
