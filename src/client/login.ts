import type * as oidc from 'openid-client';
import { type DiscoverOptions, type Discovery, discover } from '../discovery/client/discover.ts';
import { localProblem } from './errors.ts';
import { deviceFlow } from './oauth/device.ts';
import type { FlowContext, TokenResponse } from './oauth/flow.ts';
import { cacheableMetadata, checkIssuer, clientConfiguration, type FetchedMetadata, fetchIssuerMetadata } from './oauth/issuer.ts';
import { loopbackFlow } from './oauth/loopback.ts';
import { pasteFlow } from './oauth/paste.ts';
import { findPreset, type Preset } from './oauth/presets.ts';
import { findRegistration, type Registration, registerClient, rememberRegistration } from './oauth/registration.ts';
import { ACCOUNT_FORMAT, type AccountFile, type ServiceEntry, type StoreChoice } from './store/account.ts';
import { chooseStore, type StoreKind } from './store/backends.ts';
import { accountPaths } from './store/paths.ts';
import type { TokenStore } from './store/token-store.ts';
import { mergeTokenResponse } from './tokens.ts';
import { CLIENT_VERSION } from './version.ts';

/**
 * `fingerpost login EMAIL`: find the issuer from the address
 * (WebFinger, the configuration document, PACC/autoconfig, else a provider preset), read its
 * metadata, reuse or make a client registration, run one flow, and only when the grant succeeded
 * write the account file and remember the registration.
 */
export const FLOWS = ['device', 'loopback', 'paste'] as const;
export type FlowName = (typeof FLOWS)[number];

export const MAIL_SCOPE = 'urn:ietf:params:oauth:scope:mail';

export interface LoginRequest {
  readonly address: string;
  readonly provider?: string;
  readonly tenant?: string;
  readonly issuer?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Register a new client even if one is remembered for the issuer. */
  readonly register?: boolean;
  readonly flow?: FlowName;
  readonly port?: number;
  readonly store: {
    readonly kind?: StoreKind;
    readonly encryptCommand?: string;
    readonly decryptCommand?: string;
    readonly passphraseCommand?: string;
    readonly workFactor?: number;
  };
  readonly discovery: DiscoverOptions;
  /** The `--ca` file (absolute path), remembered so `token`, `check` and `setup` trust it too. */
  readonly ca?: string;
  readonly timeoutMs?: number;
  readonly httpTimeoutSeconds?: number;
}

export interface LoginIO {
  readonly note: (line: string) => void;
  readonly readLine: (prompt: string) => Promise<string>;
  /** Opens the system browser, or undefined when there is none to open. */
  readonly openBrowser: ((url: string) => void) | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

/** What the sign-in is about to do, before anything is asked of the person. */
interface Plan {
  readonly issuer: string;
  readonly fetched: FetchedMetadata;
  readonly scopes: string[];
  readonly resources: string[];
  readonly services: ServiceEntry[];
  readonly sasl: 'OAUTHBEARER' | 'XOAUTH2';
  readonly preset?: Preset;
  readonly how: string;
}

function toServices(d: Discovery): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const s of d.services) {
    const resource = s.resource ? { resource: s.resource } : {};
    if ((s.protocol === 'imap' || s.protocol === 'pop3' || s.protocol === 'submission') && s.host && s.port && s.tls)
      out.push({ protocol: s.protocol, host: s.host, port: s.port, tls: s.tls, auth: [...s.auth], ...resource });
    else if ((s.protocol === 'jmap' || s.protocol === 'calendar') && s.url)
      out.push({ protocol: s.protocol, url: s.url, auth: [...s.auth], ...resource });
  }
  return out;
}

function withOfflineAccess(scopes: readonly string[]): string[] {
  return scopes.includes('offline_access') ? [...scopes] : [...scopes, 'offline_access'];
}

async function plan(req: LoginRequest, io: LoginIO): Promise<Plan> {
  const domain = req.address.slice(req.address.lastIndexOf('@') + 1);
  const http = { timeoutSeconds: req.httpTimeoutSeconds, connectTo: req.discovery.connectTo };
  const preset = req.issuer ? undefined : findPreset(req.provider, domain, req.tenant);
  if (req.provider && !preset) throw localProblem(`unknown provider "${req.provider}"`, 'use --provider google or --provider microsoft');
  if (preset) {
    if (!req.clientId)
      throw localProblem(
        `${preset.title} needs an OAuth client id of your own; Fingerpost ships none and borrows none`,
        `${preset.clientHelp}`,
      );
    if (preset.needsSecret && !req.clientSecret) throw localProblem(`${preset.title} also needs --client-secret`, preset.clientHelp);
    const fetched: FetchedMetadata = preset.metadata
      ? { metadata: preset.metadata as oidc.ServerMetadata, algorithm: 'oauth2' }
      : await fetchIssuerMetadata(preset.issuer, req.address, http);
    return {
      issuer: preset.issuer,
      fetched,
      scopes: [...preset.scopes],
      resources: [],
      services: [...preset.services],
      sasl: preset.sasl,
      preset,
      how: `provider preset ${preset.name}`,
    };
  }
  let issuer = req.issuer;
  if (issuer) checkIssuer(issuer);
  let found = await discover(req.address, { ...req.discovery, ...(issuer ? { issuerHint: issuer } : {}) });
  for (const s of found.steps) if (s.source === 'webfinger' && s.outcome === 'failed') io.note(`note: WebFinger ${s.target}: ${s.detail}`);
  const learned = found.issuer;
  const tried = found.steps.map((s) => `  ${s.outcome} ${s.source} ${s.target}: ${s.detail}`).join('\n');
  if (!issuer) {
    if (!learned) {
      throw localProblem(
        `no OAuth issuer found for ${req.address}:\n${tried}`,
        'pass --issuer URL, or --provider google|microsoft with --client-id',
      );
    }
    issuer = learned.issuer;
  } else if (learned && learned.issuer !== issuer) {
    io.note(`note: discovery names the issuer ${learned.issuer}; using ${issuer} as asked (--issuer)`);
    // The discovered scopes and resource indicators belong to the other issuer.
    found = { ...found, resources: [], scopes: [], services: found.services.map(({ resource: _, ...s }) => s) };
  }
  // An account without services is of no use to any mail client: refuse it before the sign-in.
  if (!toServices(found).length)
    throw localProblem(
      `no mail services found for ${req.address}: the sign-in would be of no use to a mail client:\n${tried}`,
      `make discovery work (fingerpost discover ${req.address} shows each step), or point it at the server with --connect-to ${found.domain}=ADDRESS:PORT`,
    );
  const fetched = await fetchIssuerMetadata(issuer, req.address, http);
  const scopes = withOfflineAccess(found.scopes?.length ? found.scopes : [MAIL_SCOPE]);
  return {
    issuer,
    fetched,
    scopes,
    resources: [...(found.resources ?? [])],
    services: toServices(found),
    sasl: 'OAUTHBEARER',
    how: req.issuer ? 'issuer given with --issuer' : `issuer from ${learned!.source}`,
  };
}

function chooseFlow(req: LoginRequest, io: LoginIO, p: Plan): FlowName {
  const meta = p.fetched.metadata;
  const allowed = p.preset?.flows ?? FLOWS;
  if (req.flow) {
    if (!allowed.includes(req.flow))
      throw localProblem(`${p.preset?.title ?? 'this provider'} does not allow the ${req.flow} flow for mail`);
    if (req.flow === 'device' && !meta.device_authorization_endpoint)
      throw localProblem('the issuer offers no device flow (no device_authorization_endpoint)', 'use --flow loopback or --flow paste');
    if (req.flow !== 'device' && !meta.authorization_endpoint)
      throw localProblem('the issuer offers no authorization endpoint', 'use --flow device');
    return req.flow;
  }
  if (io.openBrowser && meta.authorization_endpoint && allowed.includes('loopback')) return 'loopback';
  if (meta.device_authorization_endpoint && allowed.includes('device')) return 'device';
  if (meta.authorization_endpoint) return 'paste';
  throw localProblem('the issuer offers neither an authorization nor a device endpoint');
}

async function registration(req: LoginRequest, store: TokenStore, p: Plan, io: LoginIO): Promise<{ reg: Registration; fresh: boolean }> {
  if (req.clientId) {
    const reg: Registration = {
      issuer: p.issuer,
      clientId: req.clientId,
      ...(req.clientSecret ? { clientSecret: req.clientSecret } : {}),
      clientAuth: req.clientSecret ? 'client_secret_post' : 'none',
      dynamic: false,
      grantTypes: [],
      registeredAt: Date.now(),
    };
    return { reg, fresh: true };
  }
  const known = req.register ? undefined : await findRegistration(store.paths, p.issuer);
  if (known) return { reg: known, fresh: false };
  if (!p.fetched.metadata.registration_endpoint)
    throw localProblem(`${p.issuer} offers no dynamic client registration`, 'register a public client there and pass --client-id');
  io.note(`Registering Fingerpost as a public client at ${p.issuer} (RFC 7591)…`);
  const reg = await registerClient(p.issuer, p.fetched, p.scopes, req.address, {
    softwareVersion: CLIENT_VERSION,
    timeoutSeconds: req.httpTimeoutSeconds,
    connectTo: req.discovery.connectTo,
  });
  // Remembered at once: a sign-in that is abandoned or fails and is tried again reuses this client
  // instead of registering another one each time.
  await rememberRegistration(store.paths, reg);
  return { reg, fresh: true };
}

/** Runs the whole sign-in; returns the account written. */
export async function login(req: LoginRequest, store: TokenStore, io: LoginIO): Promise<AccountFile> {
  const p = await plan(req, io);
  const flow = chooseFlow(req, io, p);
  const choice: StoreChoice = await chooseStore({ ...req.store, env: io.env });
  const { reg, fresh } = await registration(req, store, p, io);
  const tokenResource = p.services.find((s) => s.protocol === 'imap' && s.resource)?.resource ?? p.resources[0];
  const account: AccountFile = {
    format: ACCOUNT_FORMAT,
    version: 1,
    address: req.address,
    ...(p.preset ? { provider: p.preset.name } : {}),
    issuer: p.issuer,
    metadata: cacheableMetadata(p.fetched.metadata),
    clientId: reg.clientId,
    clientAuth: reg.clientAuth,
    scopes: p.scopes,
    resources: tokenResource ? [tokenResource, ...p.resources.filter((r) => r !== tokenResource)] : p.resources,
    services: p.services,
    sasl: p.sasl,
    store: choice,
    ...(req.ca ? { ca: req.ca } : {}),
    ...(req.discovery.connectTo?.size
      ? {
          connectTo: Object.fromEntries(
            [...req.discovery.connectTo].map(([h, t]) => [h, `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`]),
          ),
        }
      : {}),
    createdAt: Date.now(),
    sealed: '',
  };
  // Ask for a new passphrase now, not after the person has been through the browser.
  await store.prepare(account);
  const config = clientConfiguration(p.fetched.metadata, reg.clientId, reg.clientAuth, reg.clientSecret, {
    timeoutSeconds: req.httpTimeoutSeconds,
    connectTo: req.discovery.connectTo,
  });
  const ctx: FlowContext = {
    address: req.address,
    config,
    scopes: p.scopes,
    resources: p.resources,
    tokenResource,
    authParams: p.preset?.authParams ?? {},
    note: io.note,
    timeoutMs: req.timeoutMs ?? 10 * 60_000,
  };
  io.note(`Signing in ${req.address} at ${p.issuer} (${p.how}; ${flow} flow)`);
  let tokens: TokenResponse;
  if (flow === 'device') tokens = await deviceFlow(ctx);
  else if (flow === 'loopback') tokens = await loopbackFlow(ctx, { port: req.port, openBrowser: io.openBrowser ?? (() => {}) });
  else tokens = await pasteFlow(ctx, { port: req.port, readLine: io.readLine });

  // The grant succeeded: now, and only now, write.
  const now = Date.now();
  const secret = mergeTokenResponse(
    { tokens: {}, ...(reg.clientSecret ? { clientSecret: reg.clientSecret } : {}) },
    tokens,
    tokenResource ?? '*',
    now,
  );
  const saved = await store.save(account, secret);
  if (fresh && !reg.dynamic) await rememberRegistration(store.paths, reg);
  io.note(`Signed in ${req.address}.`);
  io.note(
    `  client:   ${fresh ? (reg.dynamic ? `registered dynamically (client id ${reg.clientId})` : `client id ${reg.clientId} (given)`) : `client id ${reg.clientId}, remembered for ${p.issuer}`}`,
  );
  io.note(`  tokens:   ${choice.reason}`);
  io.note(`  file:     ${accountPaths(store.paths, req.address).file}`);
  if (!secret.refreshToken)
    io.note('  warning:  the issuer gave no refresh token: you will have to sign in again when the access token expires');
  for (const s of p.services)
    io.note(
      `  service:  ${'host' in s ? `${s.protocol} ${s.host}:${s.port} (${s.tls === 'implicit' ? 'TLS' : 'STARTTLS'})` : `${s.protocol} ${s.url}`}`,
    );
  io.note(`Next: fingerpost check ${req.address}, then fingerpost setup ${req.address} --for mutt`);
  return saved;
}
