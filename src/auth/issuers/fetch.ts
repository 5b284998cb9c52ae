import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

/** Why a request to an issuer failed; never contains a token or a client secret. */
export class IssuerFetchError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'IssuerFetchError';
    this.status = status;
  }
}

export interface JsonRequest {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  /** A form body (`application/x-www-form-urlencoded`). */
  readonly form?: Record<string, string>;
  /** Extra PEM CA certificates, added to the system roots. */
  readonly ca?: string;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

/** What a JSON endpoint answered. */
export interface JsonResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Fetches a JSON object from an issuer endpoint (discovery, JWKS, introspection, userinfo) with a
 * timeout and a size limit. Redirects are not followed (STANDARDS §9.6: metadata must come from
 * the configured origin). Non-JSON or non-object bodies are an error. Any HTTP status is returned.
 */
export function fetchJson(url: string, request: JsonRequest = {}): Promise<JsonResponse> {
  const u = URL.parse(url);
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return Promise.reject(new IssuerFetchError(`not an http(s) URL: ${url}`));
  const body = request.form ? new URLSearchParams(request.form).toString() : undefined;
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const maxBytes = request.maxBytes ?? 1024 * 1024;
  const lib = u.protocol === 'https:' ? https : http;
  const options: https.RequestOptions = {
    method: request.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    timeout: request.timeoutMs ?? 10_000,
    ...(u.protocol === 'https:' && request.ca ? { ca: [...tls.rootCertificates, request.ca] } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = lib.request(u, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(new IssuerFetchError(`${u.origin}${u.pathname} answered more than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          reject(new IssuerFetchError(`${u.origin}${u.pathname} did not answer JSON (HTTP ${status})`, status));
          return;
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          reject(new IssuerFetchError(`${u.origin}${u.pathname} did not answer a JSON object (HTTP ${status})`, status));
          return;
        }
        resolve({ status, body: parsed as Record<string, unknown> });
      });
      res.on('error', (err) => reject(new IssuerFetchError(`${u.origin}${u.pathname}: ${err.message}`)));
    });
    req.on('timeout', () => req.destroy(new IssuerFetchError(`${u.origin}${u.pathname} timed out`)));
    req.on('error', (err) =>
      reject(err instanceof IssuerFetchError ? err : new IssuerFetchError(`${u.origin}${u.pathname}: ${err.message}`)),
    );
    req.end(body);
  });
}
