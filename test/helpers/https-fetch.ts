import https from 'node:https';

/**
 * A `fetch` that trusts the test server's CA (node's global fetch cannot be given one), for
 * openid-client's `customFetch` and plain requests. Never follows redirects, like
 * `redirect: 'manual'`; the 3xx itself is returned.
 */
export function caFetch(ca: string): (url: string | URL, init?: RequestInit & { localAddress?: string }) => Promise<Response> {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const headers = new Headers(init.headers);
      const body =
        init.body === undefined || init.body === null
          ? undefined
          : Buffer.from(init.body instanceof URLSearchParams ? init.body.toString() : (init.body as string));
      if (init.body instanceof URLSearchParams && !headers.has('content-type'))
        headers.set('content-type', 'application/x-www-form-urlencoded');
      const options = {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers),
        ca,
        // A fresh connection from the given source address (any 127.x.y.z works on loopback).
        ...(init.localAddress ? { localAddress: init.localAddress, agent: false as const } : {}),
      };
      const req = https.request(new URL(url), options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) out.append(k, x);
            else if (v !== undefined) out.set(k, v);
          }
          const status = res.statusCode ?? 0;
          const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(payload, { status, headers: out }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')));
      req.end(body);
    });
}

/**
 * A minimal cookie-keeping HTTPS client that walks login pages like a browser without script:
 * GET and form POSTs, `Set-Cookie` honoured per path, redirects returned for the caller to follow.
 */
export class FormBrowser {
  readonly #fetch: ReturnType<typeof caFetch>;
  readonly #cookies = new Map<string, { value: string; path: string }>();

  /** The source address of the next requests (undefined: the system's choice); may change between requests. */
  localAddress: string | undefined;

  constructor(ca: string, options: { localAddress?: string } = {}) {
    this.#fetch = caFetch(ca);
    this.localAddress = options.localAddress;
  }

  /** The names of the cookies held, with the attributes the server set (for checks). */
  readonly setCookieHeaders: string[] = [];

  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    const cookie = [...this.#cookies.entries()]
      .filter(([, c]) => u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const headers: Record<string, string> = {};
    if (cookie) headers.cookie = cookie;
    let body: URLSearchParams | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await this.#fetch(u, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      ...(body ? { body } : {}),
      ...(this.localAddress ? { localAddress: this.localAddress } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      this.setCookieHeaders.push(line);
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const path =
        attrs
          .map((a) => a.trim())
          .find((a) => a.toLowerCase().startsWith('path='))
          ?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=thu, 01 jan 1970/i.test(a.trim())) || value === '';
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, { value, path });
    }
    return res;
  }

  /** Follows 3xx redirects (GET) until a non-redirect or a URL matching `stopAt`; returns the last response and its URL. */
  async follow(url: string | URL, stopAt?: (u: URL) => boolean, first?: Response): Promise<{ res: Response; url: URL }> {
    let current = new URL(url);
    let res = first ?? (await this.request(current));
    for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
      current = new URL(res.headers.get('location')!, current);
      if (stopAt?.(current)) return { res, url: current };
      res = await this.request(current);
    }
    return { res, url: current };
  }
}

/** The value of a hidden input in a server-rendered form. */
export function hiddenInput(html: string, name: string): string | undefined {
  const m =
    new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ??
    new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html);
  return m?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** The `action` of the form whose id or action contains `hint`. */
export function formAction(html: string, hint: string): string | undefined {
  for (const m of html.matchAll(/<form[^>]*>/g)) if (m[0].includes(hint)) return /action="([^"]*)"/.exec(m[0])?.[1]?.replace(/&amp;/g, '&');
  return undefined;
}
