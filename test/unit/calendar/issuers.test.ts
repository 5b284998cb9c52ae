// Remote issuers: WebFinger → issuer → metadata → JWKS against a real HTTPS issuer on loopback;
// unknown kids refetch the JWKS (key rotation) but forged kids cannot make it fetch without bound.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import { RemoteIssuers } from '../../../src/calendar/federation/issuers.ts';
import { OutboundHttp, parseResolveEntries } from '../../../src/calendar/outbound.ts';
import { webfinger } from '../../../src/discovery/client/webfinger.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';

describe('RemoteIssuers', () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  let ca: string;
  const keys: Array<{ kid: string; jwk: JWK; key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'] }> = [];
  let jwksFetches = 0;
  let issuer: string;

  async function addKey(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    keys.unshift({ kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' }, key: privateKey });
    return kid;
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-iss-'));
    const files = await ensureLocalTls(dir, ['id.test']);
    ca = await readFile(files.caCert, 'utf8');
    server = https.createServer({ cert: await readFile(files.cert), key: await readFile(files.key) }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/.well-known/webfinger'))
        return res.end(
          JSON.stringify({ subject: 'acct:alice@id.test', links: [{ rel: 'http://openid.net/specs/connect/1.0/issuer', href: issuer }] }),
        );
      if (req.url === '/oidc/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      if (req.url === '/oidc/jwks') {
        jwksFetches++;
        return res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    issuer = `https://id.test:${port}/oidc`;
    await addKey();
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const issuers = () => {
    const resolve = parseResolveEntries([`id.test=127.0.0.1:${port}`]);
    return new RemoteIssuers({
      webfinger: (address, rels) =>
        webfinger(address, rels, { ca, connectTo: new Map([['id.test', { host: '127.0.0.1', port }]]), blockPrivate: true }),
      outbound: new OutboundHttp({ allowPrivate: false, resolve, extraCa: ca, timeoutMs: 5000, userAgent: 'test' }),
      cacheMs: 600_000,
    });
  };
  const token = (kid: string, key = keys[0]!.key) =>
    new SignJWT({ sub: 'alice@id.test' }).setProtectedHeader({ alg: 'ES256', kid }).sign(key);

  it('finds the issuer through WebFinger and verifies with its published keys, fetching once', async () => {
    const r = issuers();
    assert.equal(await r.issuerOf('alice@id.test'), issuer);
    jwksFetches = 0;
    for (let i = 0; i < 5; i++) await jwtVerify(await token(keys[0]!.kid), r.keyResolver(issuer));
    assert.equal(jwksFetches, 1);
  });

  it('a rotated key is fetched on first sight; forged kids are bounded per issuer', async () => {
    const r = issuers();
    jwksFetches = 0;
    await jwtVerify(await token(keys[0]!.kid), r.keyResolver(issuer));
    const kid = await addKey();
    await jwtVerify(await token(kid), r.keyResolver(issuer));
    assert.equal(jwksFetches, 2, 'one refetch for the new kid');
    for (let i = 0; i < 30; i++) await assert.rejects(jwtVerify(await token(randomUUID()), r.keyResolver(issuer)));
    assert.ok(jwksFetches <= 2 + 6, `forged kids caused ${jwksFetches - 2} refetches`);
    const before = jwksFetches;
    for (let i = 0; i < 5; i++) await assert.rejects(jwtVerify(await token('same-forged-kid'), r.keyResolver(issuer)));
    assert.ok(jwksFetches - before <= 1, 'the same unknown kid is not fetched for again');
  });

  it('metadata naming another issuer is refused', async () => {
    const r = issuers();
    const other = `https://id.test:${port}/oidc-not`;
    await assert.rejects(
      jwtVerify(await token(keys[0]!.kid), r.keyResolver(other)),
      /issuer metadata .* answered HTTP 404|names another issuer/,
    );
  });
});
