import type { AdapterPayload } from 'oidc-provider';
import { FingerpostError } from '../core/errors.ts';
import { randomId, randomSecret } from '../core/ids.ts';
import type { Db } from '../store/db.ts';
import { SqlAdapter } from './adapter.ts';

/** What an administrator registers: a confidential client (a webmail) or a known public one. */
export interface ClientInput {
  readonly clientId?: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed. */
  readonly backchannelLogoutUri?: string;
  /** Public clients (native apps, no secret) must use PKCE; confidential ones get a secret. */
  readonly public?: boolean;
  readonly grantTypes?: readonly string[];
  readonly scope?: string;
  /** A confidential client's secret chosen by the caller (a first-party client of this server); generated when absent. */
  readonly secret?: string;
}

export interface ClientInfo {
  readonly clientId: string;
  readonly name: string;
  readonly public: boolean;
  readonly redirectUris: readonly string[];
  readonly backchannelLogoutUri?: string;
  /** True for clients an administrator added; false for self-registered ones (RFC 7591). */
  readonly verified: boolean;
}

/** Validates metadata the way the provider will when it loads the client (oidc-provider's schema). */
export type ClientValidator = (metadata: AdapterPayload) => Promise<void>;

/**
 * Administration of the provider's clients (`fingerpost admin client add|list|remove`). Clients
 * live in oidc-provider's `Client` model in the SQL store, so every node sees a change at once.
 */
export class IdpClients {
  readonly #db: Db;
  readonly #adapter: SqlAdapter;
  readonly #validate: ClientValidator;

  constructor(db: Db, validate: ClientValidator) {
    this.#db = db;
    this.#adapter = new SqlAdapter(db, 'Client');
    this.#validate = validate;
  }

  /** Registers a client; returns its id and, for a confidential client, the secret (shown once). */
  async add(input: ClientInput): Promise<{ info: ClientInfo; secret?: string }> {
    const clientId = input.clientId ?? randomId('c-');
    if (!/^[A-Za-z0-9._~-]{3,100}$/.test(clientId))
      throw new FingerpostError(
        'invalid_argument',
        `client id ${JSON.stringify(clientId)} must be 3-100 characters of A-Z a-z 0-9 . _ ~ -`,
      );
    if (await this.#adapter.find(clientId)) throw new FingerpostError('already_exists', `client ${clientId} exists`);
    const secret = input.public ? undefined : (input.secret ?? randomSecret(32));
    const grants = input.grantTypes?.length ? [...input.grantTypes] : ['authorization_code', 'refresh_token'];
    const metadata: AdapterPayload = {
      client_id: clientId,
      client_name: input.name,
      client_id_issued_at: Math.floor(Date.now() / 1000),
      redirect_uris: [...input.redirectUris],
      grant_types: grants,
      response_types: grants.includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: input.public ? 'none' : 'client_secret_basic',
      application_type: input.public ? 'native' : 'web',
      fingerpost_verified: true,
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
      ...(input.postLogoutRedirectUris?.length ? { post_logout_redirect_uris: [...input.postLogoutRedirectUris] } : {}),
      ...(input.backchannelLogoutUri
        ? { backchannel_logout_uri: input.backchannelLogoutUri, backchannel_logout_session_required: true }
        : {}),
      ...(input.scope ? { scope: input.scope } : {}),
    };
    try {
      await this.#validate(metadata);
    } catch (err) {
      const e = err as { error_description?: string; message?: string };
      throw new FingerpostError('invalid_argument', `invalid client: ${e.error_description ?? e.message ?? 'rejected'}`);
    }
    await this.#adapter.upsert(clientId, metadata);
    return { info: toInfo(metadata), ...(secret ? { secret } : {}) };
  }

  async list(): Promise<ClientInfo[]> {
    const rows = await this.#db.kysely.selectFrom('idp_entries').select('payload').where('model', '=', 'Client').orderBy('id').execute();
    return rows.map((r) => toInfo(JSON.parse(r.payload) as AdapterPayload));
  }

  /** Removes a client; its tokens stop working at the token endpoint at once. */
  async remove(clientId: string): Promise<void> {
    if (!(await this.#adapter.find(clientId))) throw new FingerpostError('not_found', `no client ${clientId}`);
    await this.#adapter.destroy(clientId);
  }
}

function toInfo(m: AdapterPayload): ClientInfo {
  const meta = m as Record<string, unknown>;
  return {
    clientId: String(m.client_id),
    name: typeof m.client_name === 'string' ? m.client_name : '',
    public: m.token_endpoint_auth_method === 'none',
    redirectUris: Array.isArray(m.redirect_uris) ? m.redirect_uris : [],
    ...(typeof m.backchannel_logout_uri === 'string' ? { backchannelLogoutUri: m.backchannel_logout_uri } : {}),
    verified: meta.fingerpost_verified === true,
  };
}
