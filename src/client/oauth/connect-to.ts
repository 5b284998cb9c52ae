import https from 'node:https';
import type * as oidc from 'openid-client';

/**
 * `--connect-to HOST=ADDR:PORT` for the OAuth requests (issuer metadata, registration, device and
 * token endpoints): the connection goes to ADDR:PORT while the request, SNI and the certificate
 * check stay on HOST (RFC 9110 §7.2 Host, RFC 6066 §3 SNI), like curl's option of the same name.
 * Hosts without an override go through the platform `fetch` unchanged.
 */
export type ConnectTo = ReadonlyMap<string, { readonly host: string; readonly port: number }>;

/** A `fetch` for openid-client (`oidc.customFetch`) that honours `connectTo`; undefined when it is empty. */
export function connectToFetch(connectTo: ConnectTo | undefined): oidc.CustomFetch | undefined {
  if (!connectTo?.size) return undefined;
  return async (url, init) => {
    const u = new URL(url);
    const target = connectTo.get(u.hostname.toLowerCase());
    if (!target || u.protocol !== 'https:') return fetch(url, init as RequestInit);
    const body = await bodyBytes(init.body);
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        {
          host: target.host,
          port: target.port,
          servername: u.hostname,
          path: `${u.pathname}${u.search}`,
          method: init.method,
          headers: { ...init.headers, host: u.host, ...(body ? { 'content-length': String(body.length) } : {}) },
          agent: false,
          signal: init.signal,
          minVersion: 'TLSv1.2',
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (v === undefined) continue;
              for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
            }
            const status = res.statusCode ?? 502;
            const noBody = status === 204 || status === 304 || init.method === 'HEAD';
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers }));
          });
        },
      );
      // The same shape as the platform fetch's network errors: TypeError with the system error as cause.
      req.on('error', (err) => reject(err.name === 'AbortError' ? err : new TypeError('fetch failed', { cause: err })));
      req.end(body);
    });
  };
}

async function bodyBytes(body: oidc.CustomFetchOptions['body']): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(new Uint8Array(body));
  return Buffer.from(await new Response(body).arrayBuffer());
}
