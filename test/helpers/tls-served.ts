import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/**
 * The certificate served on 127.0.0.1:`port` for `servername`, verified against `ca` (chain and
 * name) by Node's TLS client; or the verification error code.
 */
export function served(
  port: number,
  servername: string,
  ca: string,
): Promise<{ ok: true; cert: X509Certificate } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const cert = s.getPeerX509Certificate()!;
      s.end();
      resolve({ ok: true, cert });
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
  });
}
