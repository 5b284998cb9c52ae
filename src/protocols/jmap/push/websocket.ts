import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';
import type { HttpAuthenticator } from '../../../auth/http/authenticator.ts';
import type { AuthCore, EndReason } from '../../../auth/types.ts';
import { markHttpConnectionInUse, peerOf } from '../../../net/listener.ts';
import { isObject, type JsonObject } from '../args.ts';
import type { Caller, JmapServices } from '../context.ts';
import { type MethodTable, processRequest } from '../dispatch.ts';
import { PROBLEM } from '../errors.ts';
import { parseIJson } from '../i-json.ts';
import { validateRequest } from '../request.ts';
import { PUSH_TYPES, type PushType } from '../state.ts';
import type { ConnectionCounter } from './event-source.ts';
import { currentStates, decodeEventId, encodeEventId, stateChange } from './state-change.ts';
import { PushWatcher } from './watcher.ts';
import { watchSharedAccounts } from '../sharing/shared-push.ts';
import { closeFrame, encodeFrame, FrameParser, OPCODE } from './websocket-frames.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** What the WebSocket endpoint needs (the same pieces as the HTTP API). */
export interface WebSocketDeps {
  readonly services: JmapServices;
  readonly httpAuth: HttpAuthenticator;
  readonly auth: Pick<AuthCore, 'register'>;
  /** The JMAP resource identifier tokens must be for. */
  readonly resource: string;
  readonly path: string;
  readonly methods: MethodTable;
  readonly connections: ConnectionCounter;
  readonly sessionState: (caller: Caller) => Promise<string>;
}

function refuse(
  socket: Duplex,
  status: number,
  text: string,
  detail: string,
  headers: Record<string, string | readonly string[]> = {},
): void {
  const body = JSON.stringify({ type: 'about:blank', status, detail });
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    'Connection: close',
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  for (const [name, value] of Object.entries(headers)) for (const v of [value].flat()) lines.push(`${name}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v.join(',') : v) ?? '';
}

/**
 * JMAP over WebSocket (RFC 8887) at `path`: the upgrade request authenticates like any JMAP
 * request and must ask for the `jmap` subprotocol; then Request objects are answered with
 * Response objects (or RequestError), in order, and `WebSocketPushEnable` turns on StateChange
 * pushes with a `pushState`. Revoking the credential closes the socket (1008).
 */
export function attachWebSocket(server: http.Server | https.Server, deps: WebSocketDeps): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'https://localhost').pathname;
    } catch {
      return;
    }
    socket.on('error', () => socket.destroy());
    // No other route takes upgrades: without an answer the socket would hang until the idle timeout.
    if (path !== deps.path) return refuse(socket, 404, 'Not Found', 'no WebSocket endpoint here');
    void upgrade(req, socket, head, deps).catch((err: Error) => {
      deps.services.logger.warn({ err: err.message }, 'JMAP WebSocket upgrade failed');
      socket.destroy();
    });
  });
}

async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, deps: WebSocketDeps): Promise<void> {
  const key = header(req, 'sec-websocket-key');
  const protocols = header(req, 'sec-websocket-protocol')
    .split(',')
    .map((p) => p.trim());
  if (
    req.method !== 'GET' ||
    header(req, 'upgrade').toLowerCase() !== 'websocket' ||
    header(req, 'sec-websocket-version') !== '13' ||
    !/^[A-Za-z0-9+/]{22}==$/.test(key)
  ) {
    return refuse(socket, 400, 'Bad Request', 'not a WebSocket upgrade (RFC 6455 §4.2.1)');
  }
  if (!protocols.includes('jmap')) return refuse(socket, 400, 'Bad Request', 'the "jmap" subprotocol is required (RFC 8887 §4.2)');
  const outcome = await deps.httpAuth.authenticate({
    headers: req.headers,
    remote: peerOf(req.socket).remoteAddress,
    tls: true,
    resource: deps.resource,
    scope: 'mail',
  });
  if (!outcome.ok)
    return refuse(socket, outcome.status, outcome.status === 401 ? 'Unauthorized' : 'Forbidden', outcome.detail, outcome.headers);
  const caller: Caller = { account: outcome.result.account, auth: outcome.result };
  const { services } = deps;
  if (!deps.connections.tryOpen(caller.account.id, services.config.jmap.max_push_connections)) {
    return refuse(socket, 429, 'Too Many Requests', 'too many push connections for this account');
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${accept}`,
      'Sec-WebSocket-Protocol: jmap',
      '',
      '',
    ].join('\r\n'),
  );
  markHttpConnectionInUse(req.socket);
  new JmapSocket(socket, caller, deps, head, peerOf(req.socket).remoteAddress);
}

/** One open JMAP WebSocket. */
class JmapSocket {
  readonly #socket: Duplex;
  readonly #caller: Caller;
  readonly #deps: WebSocketDeps;
  readonly #parser: FrameParser;
  #queue: Promise<void> = Promise.resolve();
  #watcher: PushWatcher | undefined;
  /** Stops the StateChanges of accounts shared with the caller (RFC 9670 §1.4). */
  #unwatchShared: (() => void) | undefined;
  #closed = false;
  #released = false;
  readonly #unregister: () => void;
  readonly #untrack: () => void;

  constructor(socket: Duplex, caller: Caller, deps: WebSocketDeps, head: Buffer, remote: string) {
    this.#socket = socket;
    this.#caller = caller;
    this.#deps = deps;
    this.#parser = new FrameParser(deps.services.limits.maxSizeRequest);
    const registration = deps.auth.register(
      caller.auth,
      { protocol: 'http', listener: 'https', remote, tls: true, resource: deps.resource },
      (reason: EndReason) => this.close(1008, reason),
    );
    this.#unregister = () => registration.unregister();
    this.#untrack = deps.connections.track(() => this.close(1001, 'server shutting down'));
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () => this.#cleanup());
    if (head.length) this.#receive(head);
  }

  #send(message: JsonObject): void {
    if (!this.#closed) this.#socket.write(encodeFrame(OPCODE.text, Buffer.from(JSON.stringify(message))));
  }

  #receive(chunk: Buffer): void {
    for (const event of this.#parser.push(chunk)) {
      if (event.kind === 'error') {
        this.close(event.code, event.reason);
        return;
      }
      if (event.kind === 'control') {
        if (event.opcode === OPCODE.ping) this.#socket.write(encodeFrame(OPCODE.pong, event.payload));
        else if (event.opcode === OPCODE.close) this.close(1000, '');
        continue;
      }
      if (event.opcode !== OPCODE.text) {
        this.close(1003, 'JMAP messages are text frames');
        return;
      }
      const payload = event.payload;
      this.#queue = this.#queue
        .then(() => this.#handle(payload))
        .catch((err: Error) => {
          this.#deps.services.logger.error({ err: err.message }, 'JMAP WebSocket message failed');
          this.close(1011, 'internal error');
        });
    }
  }

  #requestError(type: string, detail: string, requestId: unknown): void {
    this.#send({ '@type': 'RequestError', ...(typeof requestId === 'string' ? { requestId } : {}), type, status: 400, detail });
  }

  async #handle(payload: Buffer): Promise<void> {
    const parsed = parseIJson(payload);
    if (!parsed.ok) return this.#requestError(PROBLEM.notJSON, `not I-JSON: ${parsed.error}`, undefined);
    const value = parsed.value;
    if (!isObject(value)) return this.#requestError(PROBLEM.notRequest, 'a message must be a JSON object', undefined);
    const requestId = value['id'];
    switch (value['@type']) {
      case 'Request': {
        const r = validateRequest(value, this.#deps.services.limits);
        if (!r.ok) return this.#send({ '@type': 'RequestError', ...(typeof requestId === 'string' ? { requestId } : {}), ...r.problem });
        const response = await processRequest(
          r.request,
          this.#deps.services,
          this.#caller,
          this.#deps.methods,
          await this.#deps.sessionState(this.#caller),
        );
        return this.#send({
          '@type': 'Response',
          ...(typeof requestId === 'string' ? { requestId } : {}),
          ...(response as unknown as JsonObject),
        });
      }
      case 'WebSocketPushEnable':
        return this.#enablePush(value);
      case 'WebSocketPushDisable':
        this.#watcher?.stop();
        this.#watcher = undefined;
        this.#unwatchShared?.();
        this.#unwatchShared = undefined;
        return;
      default:
        return this.#requestError(PROBLEM.notRequest, '@type must be Request, WebSocketPushEnable or WebSocketPushDisable', requestId);
    }
  }

  async #enablePush(value: JsonObject): Promise<void> {
    const wanted = value['dataTypes'];
    let types: PushType[];
    if (wanted === null || wanted === undefined) types = [...PUSH_TYPES];
    else if (Array.isArray(wanted) && wanted.every((t) => typeof t === 'string'))
      types = PUSH_TYPES.filter((t) => (wanted as string[]).includes(t));
    else return this.#requestError(PROBLEM.notRequest, 'dataTypes must be null or a list of type names', undefined);
    this.#watcher?.stop();
    const accountId = this.#caller.account.id;
    const services = this.#deps.services;
    const now = await currentStates(services, accountId, types);
    const since = typeof value['pushState'] === 'string' ? decodeEventId(value['pushState']) : undefined;
    this.#watcher = new PushWatcher(services, accountId, types, since ?? now, (changed, all) => {
      this.#send({ ...stateChange(accountId, changed), pushState: encodeEventId(all) });
    });
    this.#watcher.start();
    if (since) this.#watcher.check();
    // Accounts shared with the caller push their own StateChanges, without a pushState (RFC 9670 §1.4).
    this.#unwatchShared?.();
    const unwatch = await watchSharedAccounts(services, accountId, types, (change) => {
      if (!this.#closed) this.#send(change);
    });
    if (this.#closed) unwatch();
    else this.#unwatchShared = unwatch;
  }

  /** Sends a close frame and ends the connection. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#socket.write(closeFrame(code, reason));
    this.#closed = true;
    this.#socket.end();
    this.#cleanup();
  }

  #cleanup(): void {
    this.#closed = true;
    this.#watcher?.stop();
    this.#watcher = undefined;
    this.#unwatchShared?.();
    this.#unwatchShared = undefined;
    if (this.#released) return;
    this.#released = true;
    this.#unregister();
    this.#untrack();
    this.#deps.connections.close(this.#caller.account.id);
  }
}
