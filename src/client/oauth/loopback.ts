import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { localProblem } from '../errors.ts';
import { finishAuthorization, startAuthorization } from './authorize.ts';
import type { FlowContext, TokenResponse } from './flow.ts';
import { sameSecret } from '../../core/constant-time.ts';

/**
 * The loopback redirect flow (RFC 8252 §7.3, §8.3): a one-shot HTTP listener on 127.0.0.1 only,
 * on a random port or `--port` (for `ssh -L PORT:127.0.0.1:PORT`), opened just before the request
 * and closed after the first /callback that carries this sign-in's `state`; another local process
 * cannot end the sign-in with a forged redirect. The browser is the system one (§8.12).
 */
export async function loopbackFlow(
  ctx: FlowContext,
  options: { port?: number; openBrowser: (url: string) => void },
): Promise<TokenResponse> {
  let resolveCallback!: (url: URL) => void;
  const callback = new Promise<URL>((resolve) => (resolveCallback = resolve));
  let answer: ((status: number, body: string) => void) | undefined;
  let expectedState: string | undefined;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/callback' || answer) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    const respond = (status: number, body: string) =>
      res
        .writeHead(status, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'none'",
          'referrer-policy': 'no-referrer',
        })
        .end(page(body));
    const state = url.searchParams.get('state');
    if (expectedState === undefined || state === null || !sameSecret(state, expectedState)) {
      respond(400, '<h1>Not this sign-in</h1><p>This is not the answer to the sign-in the terminal is waiting for.</p>');
      return;
    }
    answer = respond;
    resolveCallback(new URL(`${url.pathname}${url.search}`, `http://127.0.0.1:${port}`));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? localProblem(`port ${options.port} on 127.0.0.1 is in use`, 'choose another --port')
          : localProblem(`cannot listen on 127.0.0.1: ${err.message}`),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const timer = setTimeout(() => resolveCallback(new URL('http://timeout.invalid/')), ctx.timeoutMs);
  try {
    const pending = await startAuthorization(ctx, `http://127.0.0.1:${port}/callback`);
    expectedState = pending.state;
    ctx.note(`Open this address in a browser to sign in ${ctx.address}:\n\n  ${pending.url.href}\n`);
    ctx.note(`Waiting for the browser to come back to http://127.0.0.1:${port}/callback …`);
    options.openBrowser(pending.url.href);
    const url = await callback;
    if (url.hostname === 'timeout.invalid')
      throw localProblem('nobody came back to the loopback address in time', 'run fingerpost login again');
    try {
      const tokens = await finishAuthorization(ctx, pending, url);
      answer?.(200, `<h1>Signed in</h1><p>${escapeHtml(ctx.address)} is signed in. You can close this tab.</p>`);
      return tokens;
    } catch (err) {
      answer?.(400, `<h1>Sign-in failed</h1><p>${escapeHtml((err as Error).message)}</p><p>See the terminal for what to do.</p>`);
      throw err;
    }
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  }
}

function page(body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fingerpost</title></head><body>${body}</body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
