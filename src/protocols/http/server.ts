import { type IncomingMessage, STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../../config/config.ts';
import { activities } from '../../core/activity.ts';
import type { Logger } from '../../core/log.ts';
import type { LoopDelay } from '../../core/watchdog.ts';
import { ipMatcher } from '../../net/cidr.ts';
import { markHttpConnectionInUse, peerOf } from '../../net/listener.ts';
import { serverTlsOptions, type TlsMaterial } from '../../net/tls.ts';

/** What /healthz reports; `ok` false answers 503. */
export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Record<string, 'ok' | string>;
  /** How late the event loop ran recently (core/watchdog.ts): every protocol waits for it. */
  readonly eventLoop?: LoopDelay;
}

export interface HttpDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly tls: TlsMaterial;
  readonly metrics: Registry;
  readonly health: () => Promise<HealthReport>;
}

type LogArgs = [obj: unknown, msg?: string, ...args: unknown[]];

/**
 * A request's logger, made on first use: the child with the request id and the client IP that
 * fastify would build for every request (a pino child serializes its bindings when made) is only
 * built when something logs through `request.log` at an enabled level, mostly errors. It writes
 * the same lines the eager child did.
 */
export class RequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Record<string, unknown>;
  readonly #socket: IncomingMessage['socket'];
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Record<string, unknown>, socket: IncomingMessage['socket']) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#socket = socket;
  }

  #real(): Logger {
    this.#child ??= this.#parent.child({ ...this.#bindings, ip: peerOf(this.#socket).remoteAddress });
    return this.#child;
  }

  #write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: LogArgs): void {
    if (!this.isLevelEnabled(level)) return;
    (this.#real()[level] as (...a: LogArgs) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.#real().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }

  fatal(...args: LogArgs): void {
    this.#write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.#write('error', args);
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args);
  }
  info(...args: LogArgs): void {
    this.#write('info', args);
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.#real().child(bindings, options);
  }
}

/** The client IP of a request (PROXY-aware). */
export function clientIp(request: FastifyRequest): string {
  return peerOf(request.raw.socket).remoteAddress;
}

/** An RFC 9457 problem+json answer; every HTTP error in Fingerpost goes through here. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  type: string,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ type, status, detail, ...extra }));
}

/**
 * Answers a request Node's parser refused before any route saw it (headers over the size limit:
 * 431, RFC 6585 §5; too slow: 408; malformed: 400) in the same problem+json shape as every other
 * error here, then closes the connection.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, timeouts: Counter<'kind'>): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') timeouts.inc({ kind: 'request' });
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail =
    status === 431
      ? 'the request headers are larger than the server accepts'
      : status === 408
        ? 'the request took too long'
        : 'malformed HTTP request';
  const body = JSON.stringify({ type: 'about:blank', status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `access-control-allow-origin: *\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Slow clients (slowloris): Node checks `headersTimeout` and `requestTimeout` only once the server
 * emits 'listening', which a server fed sockets by the net/ listener never does on its own; and a
 * connection that sends nothing after the TLS handshake is closed after `headersTimeout` here.
 * A connection's first complete request moves it out of the pre-login share of the connection
 * limits (net/limits.ts); JMAP's WebSocket upgrade does the same once it succeeds.
 */
function enforceRequestTimeouts(server: https.Server, headersTimeoutMs: number, timeouts: Counter<'kind'>): void {
  server.emit('listening');
  server.on('secureConnection', (socket) => {
    const timer = setTimeout(() => {
      timeouts.inc({ kind: 'first_request' });
      socket.destroy();
    }, headersTimeoutMs);
    timer.unref();
    // From its first byte on, a request is under Node's own header and request timeouts.
    socket.once('data', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (request: IncomingMessage) => markHttpConnectionInUse(request.socket));
}

/** Sent on every HTTPS answer (RFC 6797 HSTS; no MIME sniffing; no Referer to other sites). */
const SECURITY_HEADERS = Object.freeze({
  'strict-transport-security': 'max-age=31536000',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

/**
 * Builds the HTTPS application (fastify on an https.Server fed by the net/ listener): security
 * headers, problem+json errors, /healthz and /metrics. Protocol modules register their routes on it.
 */
export function createHttpApp(deps: HttpDeps): { app: FastifyInstance; server: https.Server } {
  let server: https.Server | undefined;
  const timeouts = new Counter({
    name: 'fingerpost_http_timeouts_total',
    help: 'HTTPS connections closed because a request was too slow (request) or never began (first_request)',
    labelNames: ['kind'] as const,
    registers: [deps.metrics],
  });
  const { headers_timeout: headersTimeout, request_timeout: requestTimeout } = deps.config.http;
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    // A route's own log level or serializers get a real child at once; every other request a lazy one.
    childLoggerFactory: (logger, bindings, options, raw) =>
      (options.level || options.serializers
        ? logger.child({ ...bindings, ip: peerOf(raw.socket).remoteAddress }, options)
        : new RequestLogger(logger as Logger, bindings, raw.socket)) as unknown as typeof logger,
    bodyLimit: deps.config.http.body_limit,
    trustProxy: false,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    clientErrorHandler: (err, socket) => answerClientError(err, socket, timeouts),
    serverFactory: (handler) => {
      server = https.createServer(
        {
          ...serverTlsOptions(deps.tls),
          requestTimeout,
          headersTimeout,
          // How often the two timeouts above are checked.
          connectionsCheckingInterval: Math.min(1000, headersTimeout),
          handshakeTimeout: deps.config.limits.handshake_timeout,
          keepAliveTimeout: 65_000,
          // Node would answer a Host-less HTTP/1.1 request with a bare 400; the hook below sends it as problem+json.
          requireHostHeader: false,
        },
        handler,
      );
      return server;
    },
  });

  // Callback hooks (no promise per request); the security headers and the CORS header of the
  // Host-less answer are set in one call each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    // Reading originalUrl pins the URL as received (fastify keeps the first value); the embedded
    // provider's mount rewrites raw.url later, and the access log names what the client asked for.
    void request.originalUrl;
    // Named for the event-loop watchdog by route pattern, never by URL (it may carry tokens).
    const finished = activities.begin('http', `${request.method} ${request.routeOptions.url ?? 'unmatched'}`, request.id);
    reply.raw.once('close', finished);
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400 (with a JSON error, like every error here).
    if (request.headers.host === undefined && request.raw.httpVersion !== '1.0') {
      reply.header('access-control-allow-origin', '*').header('connection', 'close');
      sendProblem(reply, 400, 'about:blank', 'the Host header is required (RFC 9112 §3.2)');
      return;
    }
    done();
  });

  // One access-log line per request, also for requests handed to the embedded provider (hijacked
  // replies): the route pattern, or the path without its query (codes and states travel there).
  // Written by the app's logger with the request id and IP as fields (the line a request child
  // would write), and only built when info is enabled.
  const accessLog = app.log as unknown as Logger;
  app.addHook('onResponse', (request, reply, done) => {
    if (accessLog.isLevelEnabled('info')) {
      const url = request.routeOptions.url ?? request.originalUrl.split('?')[0]!.slice(0, 200);
      accessLog.info(
        {
          reqId: request.id,
          ip: clientIp(request),
          method: request.method,
          url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request',
      );
    }
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, 404, 'about:blank', `no resource at ${request.method} ${request.url.split('?')[0]}`);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const detail = status >= 500 ? 'internal error; the server log has details' : err.message;
    sendProblem(reply, status, 'about:blank', detail);
  });

  app.get('/healthz', async (_request, reply) => {
    const report = await deps.health();
    reply.code(report.ok ? 200 : 503).header('cache-control', 'no-store');
    const loop = report.eventLoop;
    return {
      status: report.ok ? 'ok' : 'unavailable',
      checks: report.checks,
      ...(loop
        ? {
            event_loop: {
              delay_p50_ms: loop.p50Ms,
              delay_p99_ms: loop.p99Ms,
              delay_max_ms: loop.maxMs,
              window_s: Math.round(loop.windowMs / 1000),
            },
          }
        : {}),
    };
  });

  const metricsAllowed = ipMatcher(deps.config.http.metrics_from);
  app.get('/metrics', async (request, reply) => {
    if (!metricsAllowed(clientIp(request))) return sendProblem(reply, 403, 'about:blank', 'metrics are only served to http.metrics_from');
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });

  if (!server) throw new Error('fastify did not call serverFactory');
  enforceRequestTimeouts(server, headersTimeout, timeouts);
  // Route modules take a plain FastifyInstance; the https server and pino logger are details of this file.
  return { app: app as unknown as FastifyInstance, server: server as https.Server };
}

/** The fastify instance protocol modules register routes on. */
export type HttpApp = FastifyInstance;
