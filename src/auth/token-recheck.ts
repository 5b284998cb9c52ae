import type { IssuerRegistry } from './issuers/registry.ts';
import type { AuthResult, EndReason } from './types.ts';
import type { IntrospectionClient } from './verifiers/introspection.ts';

interface Watched {
  readonly token: string;
  readonly issuer: string;
  readonly end: (reason: EndReason) => void;
}

/**
 * Re-asks RFC 7662 introspection about the tokens of live sessions, so a token revoked at an
 * issuer that offers introspection ends its sessions (issue 3 "Live sessions"). Tokens are held in
 * memory only while their session lives, and only for such issuers.
 */
export class TokenRecheck {
  readonly #tokens = new WeakMap<AuthResult, string>();
  readonly #watched = new Map<string, Watched>();
  readonly #issuers: IssuerRegistry;
  readonly #introspection: IntrospectionClient;
  #running = false;

  constructor(issuers: IssuerRegistry, introspection: IntrospectionClient) {
    this.#issuers = issuers;
    this.#introspection = introspection;
  }

  /** Remembers which token produced a result (called by the bearer verifier path). */
  remember(result: AuthResult, token: string): void {
    if (result.issuer && this.#issuers.get(result.issuer)?.options.introspection_endpoint) this.#tokens.set(result, token);
  }

  /** Starts watching a registered session whose result came from an introspecting issuer. */
  watch(sessionId: string, result: AuthResult, end: (reason: EndReason) => void): void {
    const token = this.#tokens.get(result);
    if (token && result.issuer) this.#watched.set(sessionId, { token, issuer: result.issuer, end });
  }

  unwatch(sessionId: string): void {
    this.#watched.delete(sessionId);
  }

  get size(): number {
    return this.#watched.size;
  }

  /** Introspects every watched token (answers are cached per issuer); ends sessions whose token is inactive. */
  async sweep(): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    let ended = 0;
    try {
      for (const [id, w] of [...this.#watched]) {
        const issuer = this.#issuers.get(w.issuer);
        if (!issuer?.options.introspection_endpoint) continue;
        try {
          const answer = await this.#introspection.introspect(w.token, issuer.options);
          if (!answer.active && this.#watched.delete(id)) {
            ended++;
            w.end('revoked');
          }
        } catch {
          // An unreachable issuer is not a revocation; ask again next time.
        }
      }
    } finally {
      this.#running = false;
    }
    return ended;
  }
}
