import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import type { Config } from '../../config/config.ts';
import { configSchema } from '../../config/schema.ts';
import { fetchJson, IssuerFetchError } from './fetch.ts';
import { JwksCache } from './jwks.ts';
import { discoverIssuer, type IssuerMetadata, openidConfigurationUrl } from './metadata.ts';

/** One `[[auth.issuers]]` entry as the frozen config holds it. */
export type IssuerOptions = Config['auth']['issuers'][number];

/** One issuer whose tokens this server accepts. */
export interface TrustedIssuer {
  readonly issuer: string;
  /** Validation rules: audiences, algorithms, claim mapping, scopes, introspection. */
  readonly options: IssuerOptions;
  readonly keys: JwksCache;
  /** `config` for `[[auth.issuers]]`, `in-process` for the embedded provider. */
  readonly source: 'config' | 'in-process';
  /** The OpenID configuration URL named in OAUTHBEARER failure challenges (RFC 7628 §3.2.2). */
  readonly openidConfiguration: string;
  /** Discovered metadata (userinfo endpoint); undefined for in-process issuers. */
  metadata(): Promise<IssuerMetadata | undefined>;
}

/** An issuer living in this process (the embedded provider): keys come from a function, no HTTP. */
export interface InProcessIssuer {
  readonly issuer: string;
  readonly jwks: () => JSONWebKeySet | Promise<JSONWebKeySet>;
  /** Defaults to `ISSUER/.well-known/openid-configuration`. */
  readonly openidConfiguration?: string;
  /** Overrides of the `[[auth.issuers]]` defaults (claim, audiences, scopes…). */
  readonly options?: Partial<Omit<IssuerOptions, 'issuer'>>;
}

export interface IssuerRegistryOptions {
  readonly now?: () => number;
  /** How long fetched keys are used before they are refreshed. */
  readonly jwksMaxAgeMs?: number;
  /** Shortest time between two fetches of one issuer's keys (unknown `kid`). */
  readonly jwksCooldownMs?: number;
  readonly onJwksLoad?: (issuer: string, ok: boolean) => void;
  readonly onError?: (issuer: string, err: unknown) => void;
}

const METADATA_MAX_AGE_MS = 3_600_000;

/** The `[[auth.issuers]]` defaults for an issuer, from the config schema itself. */
export function issuerDefaults(issuer: string): IssuerOptions {
  return configSchema.parse({ auth: { issuers: [{ issuer }] } }).auth.issuers[0]!;
}

/**
 * The issuers this server trusts (issue 3 step 3): configured ones (discovery per OIDC / RFC 8414,
 * JWKS over HTTPS or from a file) and in-process ones. Looked up by the exact `iss` string
 * (RFC 9068 §4 step 3, STANDARDS §9.7).
 */
export class IssuerRegistry {
  readonly #issuers = new Map<string, TrustedIssuer>();
  readonly #options: IssuerRegistryOptions;

  constructor(options: IssuerRegistryOptions = {}) {
    this.#options = options;
  }

  get size(): number {
    return this.#issuers.size;
  }

  get(issuer: string): TrustedIssuer | undefined {
    return this.#issuers.get(issuer);
  }

  list(): TrustedIssuer[] {
    return [...this.#issuers.values()];
  }

  /**
   * The issuer to name in a challenge for an account in `domain`: one that lists the domain, else
   * an in-process one, else the first that serves every domain.
   */
  forDomain(domain: string | undefined): TrustedIssuer | undefined {
    const all = this.list();
    const d = domain?.toLowerCase();
    return (
      (d ? all.find((i) => i.options.domains.some((x) => x.toLowerCase() === d)) : undefined) ??
      all.find((i) => i.source === 'in-process' && i.options.domains.length === 0) ??
      all.find((i) => i.options.domains.length === 0) ??
      all[0]
    );
  }

  /** Adds an `[[auth.issuers]]` entry. */
  addConfigured(options: IssuerOptions): TrustedIssuer {
    let ca: Promise<string | undefined> | undefined;
    const caPem = () => (ca ??= options.ca_file ? readFile(options.ca_file, 'utf8') : Promise.resolve(undefined));
    let meta: { value: IssuerMetadata; at: number } | undefined;
    const now = this.#options.now ?? Date.now;
    const metadata = async (): Promise<IssuerMetadata> => {
      if (meta && now() - meta.at < METADATA_MAX_AGE_MS) return meta.value;
      const c = await caPem();
      meta = { value: await discoverIssuer(options.issuer, c ? { ca: c } : {}), at: now() };
      return meta.value;
    };
    const load = async (): Promise<JSONWebKeySet> => {
      if (options.jwks_file) return JSON.parse(await readFile(options.jwks_file, 'utf8'));
      const uri = options.jwks_uri || (await metadata()).jwksUri;
      if (!uri) throw new IssuerFetchError(`issuer ${options.issuer} publishes no jwks_uri`);
      const c = await caPem();
      const res = await fetchJson(uri, c ? { ca: c } : {});
      if (res.status !== 200) throw new IssuerFetchError(`JWKS of ${options.issuer}: HTTP ${res.status}`, res.status);
      return res.body as unknown as JSONWebKeySet;
    };
    return this.#add({
      issuer: options.issuer,
      options,
      source: 'config',
      keys: this.#keys(options.issuer, load, options.jwks_file ? 5_000 : undefined),
      openidConfiguration: openidConfigurationUrl(options.issuer),
      metadata,
    });
  }

  /** Adds an issuer whose keys come from a function in this process (the embedded provider). */
  addInProcess(input: InProcessIssuer): TrustedIssuer {
    const options: IssuerOptions = { ...issuerDefaults(input.issuer), ...input.options, issuer: input.issuer };
    return this.#add({
      issuer: input.issuer,
      options,
      source: 'in-process',
      // Asking a local function is cheap, so an unknown kid is re-checked at once.
      keys: this.#keys(input.issuer, async () => input.jwks(), 0),
      openidConfiguration: input.openidConfiguration ?? openidConfigurationUrl(input.issuer),
      metadata: async () => undefined,
    });
  }

  /** Stops trusting an issuer. */
  remove(issuer: string): boolean {
    return this.#issuers.delete(issuer);
  }

  #keys(issuer: string, load: () => Promise<JSONWebKeySet>, cooldownMs?: number): JwksCache {
    return new JwksCache({
      load,
      cooldownMs: cooldownMs ?? this.#options.jwksCooldownMs ?? 30_000,
      maxAgeMs: this.#options.jwksMaxAgeMs ?? 600_000,
      now: this.#options.now,
      onLoad: (ok) => this.#options.onJwksLoad?.(issuer, ok),
      onError: (err) => this.#options.onError?.(issuer, err),
    });
  }

  #add(entry: TrustedIssuer): TrustedIssuer {
    this.#issuers.set(entry.issuer, entry);
    return entry;
  }
}
