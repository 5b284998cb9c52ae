import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { HttpAuthenticator } from '../../auth/http/authenticator.ts';
import { authenticateRequest, authOf } from '../../auth/http/fastify.ts';
import type { AuthCore } from '../../auth/types.ts';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../core/log.ts';
import type { Directory } from '../../directory/directory.ts';
import type { JmapMailView } from '../../mail/views.ts';
import type { BlobStore } from '../../store/blobs.ts';
import type { MailSubmission } from '../../mail/submission/submission.ts';
import { type HttpApp, sendProblem } from '../http/server.ts';
import { readBlob } from './blob/access.ts';
import { storeUpload } from './blob/upload.ts';
import { limitsFrom } from './capabilities.ts';
import type { Caller, JmapServices } from './context.ts';
import { processRequest } from './dispatch.ts';
import { PROBLEM } from './errors.ts';
import { fromId } from './ids.ts';
import { createOutbound } from '../../calendar/setup.ts';
import type { OutboundHttp } from '../../calendar/outbound.ts';
import { METHODS } from './methods.ts';
import type { MethodTable } from './dispatch.ts';
import { PushDelivery } from './push-subscription/delivery.ts';
import { pushSubscriptionGet } from './push-subscription/get.ts';
import { pushSubscriptionSet } from './push-subscription/set.ts';
import { vapidKeys } from './push-subscription/store.ts';
import { limitCounter } from './metrics.ts';
import { ConnectionCounter, serveEventSource } from './push/event-source.ts';
import { attachWebSocket } from './push/websocket.ts';
import { parseRequest } from './request.ts';
import { jmapUrls, sessionObject } from './session.ts';
import { sharedAccounts } from './sharing/accounts.ts';
import type { SieveScripts } from '../../mail/sieve/scripts.ts';
import { sieveScriptBlob } from './sieve-script/store.ts';
import { mayAddSomewhere, readSharedBlob } from './sharing/shared-blobs.ts';
import { sharedAccessOf } from './sharing/shared-mail.ts';

/** What the JMAP routes need from the node (wired in `main.ts`). */
export interface JmapDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly mail: JmapMailView;
  readonly blobs: BlobStore;
  readonly directory: Directory;
  /** The auth core: EventSource streams register with its session registry. */
  readonly auth: Pick<AuthCore, 'register'>;
  /** The auth core's HTTP strategies (Basic, Bearer, gateway) and challenges. */
  readonly httpAuth: HttpAuthenticator;
  /** The mail submission use case SMTP submission uses (src/mail/submission/submission.ts). */
  readonly submission: MailSubmission;
  readonly now?: () => number;
  /** The node's Prometheus registry: refusals by a limit are counted there. */
  readonly metrics?: Registry;
  /** Each account's Sieve scripts, for SieveScript/* (RFC 9661). */
  readonly sieveScripts?: SieveScripts;
}

/** In-flight requests per account, for `maxConcurrentRequests` / `maxConcurrentUpload`. */
class InFlight {
  readonly #n = new Map<number, number>();
  enter(id: number, max: number): boolean {
    const n = this.#n.get(id) ?? 0;
    if (n >= max) return false;
    this.#n.set(id, n + 1);
    return true;
  }
  leave(id: number): void {
    const n = (this.#n.get(id) ?? 1) - 1;
    if (n <= 0) this.#n.delete(id);
    else this.#n.set(id, n);
  }
}

function callerOf(request: FastifyRequest): Caller {
  const auth = authOf(request);
  if (!auth) throw new Error('JMAP route reached without authentication');
  return { account: auth.account, auth };
}

function ownAccount(reply: FastifyReply, caller: Caller, accountId: string): boolean {
  if (fromId('account', accountId) === caller.account.id) return true;
  sendProblem(reply, 404, 'about:blank', 'no such account');
  return false;
}

/**
 * Registers JMAP on the HTTPS app (RFC 8620 §2–§7): `/.well-known/jmap` → the session, the
 * session object, the API endpoint, upload, download and EventSource push. Every `/jmap/` route
 * authenticates through the auth core's HTTP strategies before its body is read.
 */
export function registerJmapRoutes(app: HttpApp, deps: JmapDeps): void {
  const { config } = deps;
  if (!config.jmap.enabled) return;
  const limits = limitsFrom(config);
  const services: JmapServices = {
    config,
    logger: deps.logger.child({ component: 'jmap' }),
    mail: deps.mail,
    blobs: deps.blobs,
    directory: deps.directory,
    limits,
    submission: deps.submission,
    now: deps.now ?? Date.now,
    limitHit: limitCounter(deps.metrics),
    ...(deps.sieveScripts ? { sieve: deps.sieveScripts } : {}),
  };
  // PushSubscription (RFC 8620 §7.2): Web Push through the calendar's SSRF-guarded outbound client.
  let outbound: OutboundHttp | undefined;
  const delivery = new PushDelivery(services, () => (outbound ??= createOutbound(config)));
  const methods: MethodTable = {
    ...METHODS,
    'PushSubscription/get': pushSubscriptionGet,
    'PushSubscription/set': pushSubscriptionSet((id) => delivery.enqueueVerification(id)),
  };
  const urls = jmapUrls(config);
  const resource = urls.session;
  const apiFlight = new InFlight();
  const uploadFlight = new InFlight();
  const pushConnections = new ConnectionCounter();

  attachWebSocket(app.server, {
    services,
    httpAuth: deps.httpAuth,
    auth: deps.auth,
    resource,
    path: new URL(urls.webSocket).pathname,
    methods,
    connections: pushConnections,
    sessionState: async (caller) =>
      sessionObject(config, limits, caller.account, true, await sharedAccounts(services, caller.account.id))['state'] as string,
  });

  // RFC 8620 §2.2: the well-known URI redirects to the session resource (§8.3: a path we control).
  app.get('/.well-known/jmap', async (_request, reply) =>
    reply.code(307).header('location', urls.session).header('cache-control', 'no-store').send(),
  );

  app.register(async (jmap) => {
    jmap.removeAllContentTypeParsers();
    jmap.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    jmap.addHook('onRequest', async (request, reply) => {
      const result = await authenticateRequest(deps.httpAuth, request, reply, { resource, scope: 'mail' });
      if (!result) return reply;
      // A request counts against the per-account concurrency limits from arrival (a slow body
      // holds its slot) until its response is finished or its connection gone.
      const route = request.routeOptions.url;
      const slot =
        route === '/jmap/api'
          ? { flight: apiFlight, max: limits.maxConcurrentRequests, limit: 'maxConcurrentRequests', what: 'requests' }
          : route === '/jmap/upload/:accountId'
            ? { flight: uploadFlight, max: limits.maxConcurrentUpload, limit: 'maxConcurrentUpload', what: 'uploads' }
            : undefined;
      if (!slot) return;
      const id = result.account.id;
      if (!slot.flight.enter(id, slot.max)) {
        services.limitHit?.(slot.limit);
        return sendProblem(reply, 429, PROBLEM.limit, `at most ${slot.max} concurrent ${slot.what}`, { limit: slot.limit });
      }
      reply.raw.once('close', () => slot.flight.leave(id));
    });
    jmap.addHook('onReady', async () => {
      delivery.start();
    });
    jmap.addHook('onClose', async () => {
      pushConnections.endAll();
      delivery.stop();
    });

    jmap.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        const upload = request.url.startsWith('/jmap/upload/');
        services.limitHit?.(upload ? 'maxSizeUpload' : 'maxSizeRequest');
        return sendProblem(
          reply,
          upload ? 413 : 400,
          PROBLEM.limit,
          upload ? `uploads are limited to ${limits.maxSizeUpload} bytes` : `requests are limited to ${limits.maxSizeRequest} bytes`,
          {
            limit: upload ? 'maxSizeUpload' : 'maxSizeRequest',
          },
        );
      }
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status >= 500) request.log.error({ err }, 'JMAP request failed');
      return sendProblem(reply, status, 'about:blank', status >= 500 ? 'internal error; the server log has details' : err.message);
    });

    jmap.get('/jmap/session', async (request, reply) => {
      const caller = callerOf(request);
      reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-cache, no-store, must-revalidate');
      const session = sessionObject(config, limits, caller.account, true, await sharedAccounts(services, caller.account.id));
      // The key push services check VAPID signatures against (RFC 8292 §3.2), for the client's
      // PushManager.subscribe({ applicationServerKey }).
      (session['capabilities'] as Record<string, unknown>)['urn:ietf:params:jmap:webpush-vapid'] = {
        applicationServerKey: (await vapidKeys(services)).publicKey,
      };
      return JSON.stringify(session);
    });

    jmap.post('/jmap/api', { bodyLimit: limits.maxSizeRequest }, async (request, reply) => {
      const caller = callerOf(request);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const parsed = parseRequest(body, request.headers['content-type'], limits);
      if (!parsed.ok) {
        const { status, type, detail, limit } = parsed.problem;
        if (limit) services.limitHit?.(limit);
        return sendProblem(reply, status, type, detail, limit ? { limit } : {});
      }
      const session = sessionObject(config, limits, caller.account, true, await sharedAccounts(services, caller.account.id));
      const response = await processRequest(parsed.request, services, caller, methods, session['state'] as string);
      reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store');
      return JSON.stringify(response);
    });

    // RFC 8620 §3.1, §6.1: the API and upload URLs take POST; other methods get 405 with Allow (RFC 9110 §15.5.6).
    for (const url of ['/jmap/api', '/jmap/upload/:accountId']) {
      jmap.route({
        method: ['GET', 'PUT', 'PATCH', 'DELETE'],
        url,
        handler: async (request, reply) =>
          sendProblem(reply.header('allow', 'POST'), 405, 'about:blank', `${request.method} is not allowed here; send a POST`),
      });
    }

    jmap.post<{ Params: { accountId: string } }>('/jmap/upload/:accountId', { bodyLimit: limits.maxSizeUpload }, async (request, reply) => {
      const caller = callerOf(request);
      // Into an account shared with the caller (RFC 9670 §1.4): with mayAddItems somewhere, as the caller's own blob.
      const shared = await sharedAccessOf(services, caller.account.id, fromId('account', request.params.accountId));
      if (shared && !mayAddSomewhere(shared))
        return sendProblem(reply, 403, 'about:blank', 'uploading here needs mayAddItems on a shared mailbox');
      if (!shared && !ownAccount(reply, caller, request.params.accountId)) return reply;
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = await storeUpload(services, caller.account.id, body, request.headers['content-type']);
      reply.code(201).header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store');
      return JSON.stringify({ accountId: request.params.accountId, ...result });
    });

    jmap.get<{ Params: { accountId: string; blobId: string; name: string }; Querystring: { accept?: string } }>(
      '/jmap/download/:accountId/:blobId/:name',
      async (request, reply) => {
        const caller = callerOf(request);
        // In an account shared with the caller (RFC 9670 §1.4): what readSharedBlob lets them read.
        const shared = await sharedAccessOf(services, caller.account.id, fromId('account', request.params.accountId));
        if (!shared && !ownAccount(reply, caller, request.params.accountId)) return reply;
        const blob =
          (shared
            ? await readSharedBlob(services, caller.account.id, shared, request.params.blobId)
            : await readBlob(services, caller.account.id, request.params.blobId)) ??
          (await sieveScriptBlob(services, caller.account.id, request.params.blobId));
        if (!blob) return sendProblem(reply, 404, 'about:blank', 'no such blob');
        const accept = request.query.accept;
        const type = accept && /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(accept) ? accept : blob.type;
        const name = request.params.name.replace(/[\x00-\x1f\x7f"\\]/g, '_').slice(0, 255) || 'download';
        // Blobs are immutable (RFC 8620 §6.2); served as attachments in a sandbox so no upload can script this origin.
        return reply
          .header('content-type', type)
          .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`)
          .header('content-security-policy', "sandbox; default-src 'none'")
          .header('cache-control', 'private, immutable, max-age=31536000')
          .send(blob.bytes);
      },
    );

    jmap.get<{ Querystring: Record<string, string | undefined> }>('/jmap/eventsource', async (request, reply) =>
      serveEventSource(request, reply, { services, caller: callerOf(request), auth: deps.auth, resource, connections: pushConnections }),
    );
  });
}
