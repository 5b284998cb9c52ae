// A real token issuer for tests: an HTTP(S) server on loopback with OpenID / RFC 8414 metadata,
// a JWKS that can rotate, RFC 7662 introspection and userinfo, and a signer for its tokens.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

type Key = { kid: string; alg: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; publicJwk: JWK };

export interface IssuerFixtureOptions {
  /** Serve HTTPS with this certificate instead of HTTP. */
  readonly tls?: { cert: string; key: string };
  /** Path under the origin, e.g. `/realms/x` (issuer = origin + path). */
  readonly path?: string;
  /** Which metadata documents to serve. */
  readonly metadata?: 'oidc' | 'rfc8414' | 'none';
  /** Lie about the issuer in metadata. */
  readonly wrongIssuerInMetadata?: boolean;
}

export class IssuerFixture {
  readonly server: http.Server;
  issuer = '';
  keys: Key[] = [];
  jwksFetches = 0;
  introspections = 0;
  /** token → RFC 7662 answer */
  readonly introspection = new Map<string, Record<string, unknown>>();
  /** token → userinfo claims */
  readonly userinfo = new Map<string, Record<string, unknown>>();
  readonly clientId = 'fingerpost-rs';
  readonly clientSecret = randomBytes(12).toString('hex');
  readonly #options: IssuerFixtureOptions;

  constructor(options: IssuerFixtureOptions = {}) {
    this.#options = options;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.#handle(req, res);
    this.server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    const scheme = this.#options.tls ? 'https' : 'http';
    const host = this.#options.tls ? 'localhost' : '127.0.0.1';
    this.issuer = `${scheme}://${host}:${port}${this.#options.path ?? ''}`;
    await this.addKey();
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  get origin(): string {
    return new URL(this.issuer).origin;
  }

  /** Adds a signing key (the new current one). */
  async addKey(alg = 'ES256'): Promise<Key> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `k${this.keys.length + 1}-${randomBytes(3).toString('hex')}`;
    const key: Key = { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    this.keys.push(key);
    return key;
  }

  /** Rotation: a new key replaces all old ones in the JWKS. */
  async rotate(): Promise<Key> {
    const key = await this.addKey();
    this.keys = [key];
    return key;
  }

  /** Signs claims with the current key (defaults: this issuer, an hour, at+jwt, the RFC 9068 §2.2 claims). */
  async sign(claims: JWTPayload, options: { typ?: string; key?: Key; header?: Record<string, unknown> } = {}): Promise<string> {
    const key = options.key ?? this.keys.at(-1)!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: this.issuer,
      sub: 'subject-1',
      client_id: 'test-client',
      iat: now,
      exp: now + 3600,
      jti: randomBytes(8).toString('hex'),
      ...claims,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: options.typ ?? 'at+jwt', ...options.header })
      .sign(key.privateKey);
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  #json(res: http.ServerResponse, status: number, body: unknown): unknown {
    res.writeHead(status, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(body));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): unknown {
    const url = new URL(req.url ?? '/', this.origin);
    const path = new URL(this.issuer).pathname.replace(/\/$/, '');
    const meta = {
      issuer: this.#options.wrongIssuerInMetadata ? `${this.issuer}/other` : this.issuer,
      jwks_uri: `${this.issuer}/jwks`,
      introspection_endpoint: `${this.issuer}/introspect`,
      userinfo_endpoint: `${this.issuer}/userinfo`,
      authorization_endpoint: `${this.issuer}/authorize`,
      token_endpoint: `${this.issuer}/token`,
      response_types_supported: ['code'],
    };
    const kind = this.#options.metadata ?? 'oidc';
    if (url.pathname === `${path}/.well-known/openid-configuration` && kind === 'oidc') return this.#json(res, 200, meta);
    if (url.pathname === `/.well-known/oauth-authorization-server${path}` && kind === 'rfc8414') return this.#json(res, 200, meta);
    if (url.pathname === `${path}/jwks`) {
      this.jwksFetches++;
      return this.#json(res, 200, this.jwks());
    }
    if (url.pathname === `${path}/introspect` && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        this.introspections++;
        const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return this.#json(res, 401, { error: 'invalid_client' });
        const token = new URLSearchParams(body).get('token') ?? '';
        this.#json(res, 200, this.introspection.get(token) ?? { active: false });
      });
      return;
    }
    if (url.pathname === `${path}/userinfo`) {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const claims = this.userinfo.get(token);
      if (!claims) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return res.end();
      }
      return this.#json(res, 200, claims);
    }
    this.#json(res, 404, { error: 'not_found' });
  }
}
