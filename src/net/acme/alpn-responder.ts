import type net from 'node:net';
import tls from 'node:tls';
import { ACME_TLS_ALPN, type AcmeChallenges } from './challenges.ts';
import { CLIENT_HELLO_LIMIT, peekClientHello } from './client-hello.ts';

/**
 * Answers a tls-alpn-01 validation (RFC 8737 §3) on a TLS listener: while a challenge is pending,
 * the ClientHello is read first; when it offers `acme-tls/1` for a name with a pending challenge,
 * the handshake presents that challenge's certificate, negotiates `acme-tls/1` and the connection
 * closes (RFC 8737 §4: no application data). Returns `answered`, or `peeked` when the bytes read
 * were put back for the ordinary TLS handshake: the caller must then not `resume()` the socket
 * (flowing with no reader would drop them); the TLS socket reads the buffered bytes itself.
 */
export async function answerAlpnChallenge(raw: net.Socket, challenges: AcmeChallenges, timeoutMs: number): Promise<'answered' | 'peeked'> {
  const chunks: Buffer[] = [];
  const hello = await new Promise<ReturnType<typeof peekClientHello>>((resolve) => {
    let size = 0;
    const done = (result: ReturnType<typeof peekClientHello>) => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const peek = peekClientHello(Buffer.concat(chunks));
      if (peek.kind !== 'incomplete' || size >= CLIENT_HELLO_LIMIT) done(peek.kind === 'incomplete' ? { kind: 'invalid' } : peek);
    };
    const onEnd = () => done({ kind: 'invalid' });
    const timer = setTimeout(() => done({ kind: 'invalid' }), timeoutMs);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.resume();
  });
  if (chunks.length) raw.unshift(Buffer.concat(chunks));
  if (hello.kind !== 'hello' || !hello.servername || !hello.alpn.includes(ACME_TLS_ALPN)) return 'peeked';
  const context = challenges.alpn(hello.servername);
  if (!context) return 'peeked';
  // The TLS socket reads the put-back bytes and then the connection itself (no resume()).
  const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN] });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => secure.destroy(), timeoutMs);
    secure.once('secure', () => secure.end());
    secure.once('error', () => secure.destroy());
    secure.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return 'answered';
}
