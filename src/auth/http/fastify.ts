import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Config } from '../../config/config.ts';
import { resourceIds, SCOPES } from '../../config/resources.ts';
import { peerOf } from '../../net/listener.ts';
import type { AuthResult } from '../types.ts';
import type { HttpAuthenticator, HttpAuthRefusal } from './authenticator.ts';
import { resourceMetadataUrl } from './challenges.ts';

const results = new WeakMap<FastifyRequest, AuthResult>();

/** The authentication a `requireAuth` preHandler established for this request. */
export function authOf(request: FastifyRequest): AuthResult | undefined {
  return results.get(request);
}

/** What a route protects: its resource identifier and, optionally, the access it needs. */
export interface RouteAuth {
  /** The resource (`resourceIds(config).jmap`, the calendar URL, …) or a function of the request. */
  readonly resource: string | ((request: FastifyRequest) => string);
  readonly scope?: 'mail' | 'calendars' | 'contacts';
}

/** Writes a refusal as RFC 9457 problem JSON with its challenges (one header line each). */
export function sendAuthRefusal(reply: FastifyReply, refusal: HttpAuthRefusal): FastifyReply {
  for (const [name, value] of Object.entries(refusal.headers)) reply.header(name, value);
  return reply
    .code(refusal.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ type: 'about:blank', status: refusal.status, detail: refusal.detail }));
}

/**
 * Authenticates a fastify request; on failure it sends the 400/401/403/429/503 answer itself and
 * returns undefined. For routes that decide per request whether to require auth.
 */
export async function authenticateRequest(
  authn: HttpAuthenticator,
  request: FastifyRequest,
  reply: FastifyReply,
  route: RouteAuth,
): Promise<AuthResult | undefined> {
  const resource = typeof route.resource === 'function' ? route.resource(request) : route.resource;
  const outcome = await authn.authenticate({
    headers: request.headers,
    remote: peerOf(request.raw.socket).remoteAddress,
    tls: true,
    resource,
    ...(route.scope ? { scope: route.scope } : {}),
  });
  if (!outcome.ok) {
    sendAuthRefusal(reply, outcome);
    return undefined;
  }
  results.set(request, outcome.result);
  return outcome.result;
}

/** A fastify preHandler that requires authentication; the result is then `authOf(request)`. */
export function requireAuth(authn: HttpAuthenticator, route: RouteAuth): preHandlerAsyncHookHandler {
  return async function requireAuthHandler(request, reply) {
    const result = await authenticateRequest(authn, request, reply, route);
    if (!result) return reply;
  };
}

/**
 * Serves the RFC 9728 protected-resource metadata of the JMAP session and calendar resources at
 * `/.well-known/oauth-protected-resource/<path>`, naming every trusted issuer (read per request,
 * so issuers added later appear).
 */
export function registerProtectedResourceMetadata(
  app: FastifyInstance,
  options: { config: Config; issuers: () => readonly string[] },
): void {
  const { config } = options;
  const ids = resourceIds(config);
  const resources: Array<[string, string[]]> = [
    [ids.jmap, [SCOPES.mail, 'offline_access']],
    [ids.calendar, [SCOPES.calendars, SCOPES.contacts, 'offline_access']],
  ];
  for (const [resource, scopes] of resources) {
    const metadata = resourceMetadataUrl(resource);
    if (!metadata) continue;
    const url = new URL(metadata);
    app.get(url.pathname, async (_request, reply) => {
      const servers = options.issuers();
      reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=3600');
      return JSON.stringify({
        resource,
        ...(servers.length ? { authorization_servers: servers } : {}),
        scopes_supported: scopes,
        bearer_methods_supported: ['header'],
        resource_name: config.server.name,
      });
    });
  }
}
