import { localProblem } from '../errors.ts';
import { finishAuthorization, startAuthorization } from './authorize.ts';
import type { FlowContext, TokenResponse } from './flow.ts';

/**
 * Paste-the-redirect for remote shells: the redirect URI is loopback on a port nobody listens on;
 * the browser (on another machine) ends on an error page whose address carries the code, and the
 * person pastes that address back. PKCE, state and issuer checks are the same as for loopback.
 */
export async function pasteFlow(
  ctx: FlowContext,
  options: { port?: number; readLine: (prompt: string) => Promise<string> },
): Promise<TokenResponse> {
  const port = options.port ?? 1024 + Math.floor(Math.random() * 60_000);
  const pending = await startAuthorization(ctx, `http://127.0.0.1:${port}/callback`);
  ctx.note(`Open this address in a browser on any machine to sign in ${ctx.address}:\n\n  ${pending.url.href}\n`);
  ctx.note('After signing in, the browser shows an error page for 127.0.0.1: that is expected.');
  const line = (await options.readLine('Paste the full address of that page here: ')).trim();
  if (!line) throw localProblem('nothing was pasted', 'run fingerpost login again and paste the address the browser ended on');
  let url: URL;
  try {
    url = new URL(line);
  } catch {
    throw localProblem('what was pasted is not an address (URL)');
  }
  return finishAuthorization(ctx, pending, url);
}
