import http from 'node:http';
import { FingerpostError } from '../../core/errors.ts';
import type { AcmeChallenges } from './challenges.ts';

const PREFIX = '/.well-known/acme-challenge/';
/** A token is base64url (RFC 8555 §8.3), 128 bits or more; anything else is not one of ours. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** A running http-01 responder and how to stop it. */
export interface HttpResponder {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The plain-HTTP listener an ACME CA validates http-01 challenges against (RFC 8555 §8.3):
 * GET /.well-known/acme-challenge/TOKEN answers the key authorization as text/plain (or 404
 * when no such token is pending); every other request is redirected to the same path on HTTPS
 * (`httpsPort`, RFC 9110 §15.4.9), since this port serves nothing else.
 */
export async function startHttpResponder(options: {
  readonly bind: string;
  readonly port: number;
  readonly httpsPort: number;
  readonly challenges: AcmeChallenges;
}): Promise<HttpResponder> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 10_000, maxHeaderSize: 8192 }, (req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    if ((req.method === 'GET' || req.method === 'HEAD') && url.startsWith(PREFIX)) {
      const token = url.slice(PREFIX.length);
      const answer = TOKEN.test(token) ? options.challenges.http(token) : undefined;
      res.statusCode = answer === undefined ? 404 : 200;
      res.setHeader('content-type', 'text/plain');
      res.setHeader('cache-control', 'no-store');
      res.end(answer ?? 'no such ACME challenge is pending\n');
      return;
    }
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) {
      res.statusCode = 400;
      res.end('a Host header is required\n');
      return;
    }
    const port = options.httpsPort === 443 ? '' : `:${options.httpsPort}`;
    res.statusCode = 308;
    res.setHeader('location', `https://${host}${port}${url.startsWith('/') ? url.slice(0, 2048) : '/'}`);
    res.end();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EACCES'
          ? 'run with the capability to bind low ports (CAP_NET_BIND_SERVICE), or set tls.acme.http_port to a high port that port 80 is forwarded to'
          : 'stop the other program on that port, set tls.acme.http_port, or use tls.acme.challenge = "tls-alpn-01"';
      reject(
        new FingerpostError(
          'port_in_use',
          `cannot listen on ${options.bind} port ${options.port} (tls.acme.http_port) for http-01: ${err.code}`,
          {
            hint,
          },
        ),
      );
    });
    server.listen({ host: options.bind, port: options.port }, resolve);
  });
  const address = server.address();
  return {
    port: address && typeof address === 'object' ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
