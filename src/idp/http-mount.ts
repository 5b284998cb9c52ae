import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Logger } from '../core/log.ts';
import { peerOf } from '../net/listener.ts';
import type { WindowLimiter } from './rate-limit.ts';

export interface ProviderMount {
  /** The issuer's path, e.g. `/oidc`. */
  readonly mountPath: string;
  /** The issuer's host; every URL the provider builds is based on it, not on the client's Host. */
  readonly issuerHost: string;
  /** The current oidc-provider request handler (it is rebuilt when signing keys change). */
  readonly handler: () => (req: IncomingMessage, res: ServerResponse) => void;
  /** POST limits per client IP, by path under the mount (registration, device code entry). */
  readonly postLimits: Readonly<Record<string, WindowLimiter>>;
  readonly logger: Logger;
  /** Told each time a POST limit refuses a request (metrics), with the path under the mount. */
  readonly onLimited?: (path: string) => void;
}

/**
 * A fastify `onRequest` hook that hands `MOUNT/…` (except our own `MOUNT/interaction/…` pages) and
 * the RFC 8414 location `/.well-known/oauth-authorization-server/MOUNT` to oidc-provider, a Koa
 * app, untouched by fastify's body parsing; rate-limited POSTs are answered 429 before it.
 */
export function providerHook(m: ProviderMount) {
  const rfc8414 = `/.well-known/oauth-authorization-server${m.mountPath}`;
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const raw = request.raw as IncomingMessage & { originalUrl?: string };
    const url = raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let inner: string | undefined;
    if (path === rfc8414) inner = `/.well-known/oauth-authorization-server${q < 0 ? '' : url.slice(q)}`;
    else if ((path === m.mountPath || path.startsWith(`${m.mountPath}/`)) && !path.startsWith(`${m.mountPath}/interaction/`))
      inner = url.slice(m.mountPath.length) || '/';
    if (inner === undefined) {
      done();
      return;
    }
    // The HTTP app's access log writes this request's one line (path only, no query).
    reply.hijack();
    const ip = peerOf(raw.socket).remoteAddress;
    const limiter = raw.method === 'POST' ? m.postLimits[path.slice(m.mountPath.length)] : undefined;
    const wait = limiter?.hit(ip) ?? 0;
    if (wait > 0) {
      m.logger.warn({ event: 'idp_rate_limited', path, ip }, 'rate limit reached');
      m.onLimited?.(path.slice(m.mountPath.length));
      tooMany(reply.raw, wait);
      return;
    }
    raw.originalUrl = `${m.mountPath}${inner}`;
    raw.url = inner;
    raw.headers.host = m.issuerHost;
    m.handler()(raw, reply.raw);
  };
}

/** RFC 6585 §4 429 with `Retry-After`, body in the OAuth error shape (RFC 6749 §5.2). */
function tooMany(res: ServerResponse, waitMs: number): void {
  const body = JSON.stringify({ error: 'temporarily_unavailable', error_description: 'too many requests from this address; retry later' });
  res.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
