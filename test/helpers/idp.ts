import { FormBrowser, formAction, hiddenInput } from './https-fetch.ts';
import type { TestServer } from './server.ts';
import { runCli } from './server.ts';

/**
 * Issues an access token from the embedded provider of a running test server with
 * `fingerpost admin token issue` (the real CLI on the server's data directory). The public URL is
 * passed along so the token's `iss` matches the server's issuer (`PUBLIC_URL/oidc`).
 */
export async function issueToken(
  server: Pick<TestServer, 'dataDir' | 'config'>,
  user: string,
  options: { resource?: string | string[]; scope?: string; ttl?: string } = {},
): Promise<string> {
  const args = ['admin', 'token', 'issue', user, '--data', server.dataDir];
  for (const r of [options.resource ?? []].flat()) args.push('--resource', r);
  if (options.scope !== undefined) args.push('--scope', options.scope);
  if (options.ttl !== undefined) args.push('--ttl', options.ttl);
  const r = await runCli(args, {
    env: {
      FINGERPOST_HTTP_PUBLIC_URL: server.config.publicUrl,
      FINGERPOST_SERVER_HOSTNAME: server.config.server.hostname,
      FINGERPOST_STORE_URL: server.config.store.url,
      FINGERPOST_LOG_LEVEL: 'silent',
    },
  });
  if (r.code !== 0) throw new Error(`admin token issue failed (${r.code}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1]!;
}

/**
 * Walks the embedded provider's sign-in and consent pages (server-rendered forms, no script) for
 * an authorization URL, as a browser would, until the provider redirects to the client's redirect
 * URI (`isRedirect`). Returns that URL (with `code`, `state`, `iss`) and the pages' Set-Cookie lines.
 */
export async function signInWithForms(
  ca: string,
  authUrl: URL,
  credentials: { email: string; password: string },
  isRedirect: (u: URL) => boolean = (u) => u.hostname === '127.0.0.1' || u.hostname === '[::1]',
): Promise<{ url: URL; pages: string[]; setCookies: string[] }> {
  const browser = new FormBrowser(ca);
  let { res, url } = await browser.follow(authUrl, isRedirect);
  const pages: string[] = [];
  for (let step = 0; step < 4 && !isRedirect(url); step++) {
    const page = await res.text();
    pages.push(page);
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${page.slice(0, 300)}`);
    const csrf = hiddenInput(page, 'csrf') ?? '';
    const login = formAction(page, '/login');
    const consent = formAction(page, '/consent');
    if (!login && !consent) throw new Error(`no sign-in or consent form on ${url}`);
    const form: Record<string, string> = login ? { csrf, email: credentials.email, password: credentials.password } : { csrf };
    const posted = await browser.request(new URL((login ?? consent)!, url), { form });
    ({ res, url } = await browser.follow(url, isRedirect, posted));
  }
  if (!isRedirect(url)) throw new Error(`sign-in ended on ${url}`);
  return { url, pages, setCookies: browser.setCookieHeaders };
}
