// A JMAP WebSocket client (RFC 8887) for tests, on Node's built-in WebSocket (undici): opens with
// an Authorization header and the `jmap` subprotocol and queues the JSON messages it receives.

// biome-ignore lint/suspicious/noExplicitAny: JMAP messages are checked field by field
type Json = any;

/** A WebSocket with a queue of received JSON messages. */
export interface JmapSocket {
  readonly ws: WebSocket;
  next(timeoutMs?: number): Promise<Json>;
  send(message: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens `url` (wss://…/jmap/ws) with `authorization`; resolves once the socket is open. */
export function connectJmapSocket(url: string, authorization: string, protocols = ['jmap']): Promise<JmapSocket> {
  return new Promise((resolve, reject) => {
    // Node's WebSocket (undici) takes extra request headers in its second argument.
    const ws = new WebSocket(url, { protocols, headers: { authorization } } as unknown as string[]);
    const inbox: Json[] = [];
    const waiters: Array<() => void> = [];
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.addEventListener('close', (e) => r({ code: e.code, reason: e.reason })),
    );
    ws.addEventListener('message', (e) => {
      inbox.push(JSON.parse(String(e.data)));
      for (const w of waiters.splice(0)) w();
    });
    ws.addEventListener('error', () => reject(new Error('WebSocket failed to open')));
    ws.addEventListener('open', () =>
      resolve({
        ws,
        closed,
        send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
        async next(timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          while (!inbox.length) {
            if (Date.now() > deadline) throw new Error('no message');
            await new Promise<void>((r) => {
              const t = setTimeout(r, 100);
              waiters.push(() => {
                clearTimeout(t);
                r();
              });
            });
          }
          return inbox.shift();
        },
      }),
    );
  });
}
