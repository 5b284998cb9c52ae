import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext, AuthCore, EndReason } from '../../../auth/types.ts';
import { clientIp, sendProblem } from '../../http/server.ts';
import type { Caller, JmapServices } from '../context.ts';
import { PROBLEM } from '../errors.ts';
import { changedTypes, currentStates, decodeEventId, encodeEventId, parseTypes, stateChange, type TypeStates } from './state-change.ts';
import { PushWatcher } from './watcher.ts';
import { watchSharedAccounts } from '../sharing/shared-push.ts';

/** Longest ping interval honoured; RFC 8620 §7.3 asks servers to allow at least 300 s. */
const MAX_PING_S = 3600;

/** Open push connections per account (for `jmap.max_push_connections`) and how to end them all. */
export class ConnectionCounter {
  readonly #open = new Map<number, number>();
  readonly #enders = new Set<() => void>();

  /** Remembers how to end a connection when the server shuts down; returns the forget function. */
  track(end: () => void): () => void {
    this.#enders.add(end);
    return () => this.#enders.delete(end);
  }

  /** Ends every tracked connection (server shutdown). */
  endAll(): void {
    for (const end of [...this.#enders]) end();
  }

  tryOpen(accountId: number, max: number): boolean {
    const n = this.#open.get(accountId) ?? 0;
    if (n >= max) return false;
    this.#open.set(accountId, n + 1);
    return true;
  }

  close(accountId: number): void {
    const n = (this.#open.get(accountId) ?? 1) - 1;
    if (n <= 0) this.#open.delete(accountId);
    else this.#open.set(accountId, n);
  }
}

/**
 * The EventSource push endpoint (RFC 8620 §7.3): `state` events carrying StateChange objects with
 * an id encoding the full state (a reconnect's `Last-Event-ID` replays what was missed), `ping`
 * events every `ping` seconds, and `closeafter=state` for buffering proxies. The stream is
 * registered with the auth core's session registry: revoking the login closes it.
 */
export async function serveEventSource(
  request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>,
  reply: FastifyReply,
  deps: { services: JmapServices; caller: Caller; auth: Pick<AuthCore, 'register'>; resource: string; connections: ConnectionCounter },
): Promise<FastifyReply | undefined> {
  const { services, caller } = deps;
  const q = request.query;
  const types = parseTypes(q['types']);
  if (!types) return sendProblem(reply, 400, 'about:blank', 'types must be "*" or a comma-separated list of JMAP type names');
  const closeAfter = q['closeafter'] ?? 'no';
  if (closeAfter !== 'state' && closeAfter !== 'no') return sendProblem(reply, 400, 'about:blank', 'closeafter must be "state" or "no"');
  const pingRaw = q['ping'] ?? '0';
  if (!/^\d{1,9}$/.test(pingRaw)) return sendProblem(reply, 400, 'about:blank', 'ping must be a non-negative integer');
  const ping = Math.min(Number(pingRaw), MAX_PING_S);
  const accountId = caller.account.id;
  if (!deps.connections.tryOpen(accountId, services.config.jmap.max_push_connections)) {
    return sendProblem(reply, 429, PROBLEM.limit, 'too many push connections for this account', { limit: 'maxPushConnections' });
  }

  const lastSeen = decodeEventId(request.headers['last-event-id'] as string | undefined);
  const initial = await currentStates(services, accountId, types);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-store',
    'x-accel-buffering': 'no',
    'strict-transport-security': 'max-age=31536000',
    'x-content-type-options': 'nosniff',
  });
  res.flushHeaders();

  let closed = false;
  let pingTimer: NodeJS.Timeout | undefined;
  const context: AuthContext = { protocol: 'http', listener: 'https', remote: clientIp(request), tls: true, resource: deps.resource };
  const registration = deps.auth.register(caller.auth, context, (reason: EndReason) => {
    if (!closed) res.write(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`);
    finish();
  });
  const watcher = new PushWatcher(services, accountId, types, lastSeen ?? initial, (changed, all) => {
    if (closed) return;
    res.write(`event: state\nid: ${encodeEventId(all)}\ndata: ${JSON.stringify(stateChange(accountId, changed))}\n\n`);
    if (closeAfter === 'state') finish();
  });
  const untrack = deps.connections.track(() => finish());
  let unwatchShared = () => {};
  function finish() {
    if (closed) return;
    closed = true;
    untrack();
    clearInterval(pingTimer);
    watcher.stop();
    unwatchShared();
    registration.unregister();
    deps.connections.close(accountId);
    res.end();
  }
  res.on('close', finish);
  res.on('error', finish);
  watcher.start();
  // Accounts shared with the caller push their own StateChanges, without an event id (RFC 9670 §1.4).
  unwatchShared = await watchSharedAccounts(services, accountId, types, (change) => {
    if (!closed) res.write(`event: state\ndata: ${JSON.stringify(change)}\n\n`);
  });
  if (closed) unwatchShared();
  if (ping > 0) {
    pingTimer = setInterval(() => {
      if (!closed) res.write(`event: ping\ndata: ${JSON.stringify({ interval: ping })}\n\n`);
    }, ping * 1000);
  }
  // A reconnecting client whose Last-Event-ID is behind hears about what it missed at once.
  if (lastSeen && Object.keys(changedTypes(lastSeen as TypeStates, initial)).length) watcher.check();
  else res.write(': connected\n\n');
  return undefined;
}
