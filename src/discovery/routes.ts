import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpAuthenticator } from '../auth/http/authenticator.ts';
import { authenticateRequest } from '../auth/http/fastify.ts';
import type { Config } from '../config/config.ts';
import { resourceIds } from '../config/resources.ts';
import { type Address, tryParseAddress } from '../core/address.ts';
import type { Directory } from '../directory/directory.ts';
import { peerOf } from '../net/listener.ts';
import { autoconfigXml } from './autoconfig.ts';
import { MAX_REQUEST_BYTES, parsePoxRequest, poxError, poxResponse, v2Answer } from './autodiscover.ts';
import { acctUri } from './client/acct.ts';
import { configDocument } from './config-document.ts';
import { MOBILECONFIG_TYPE, mobileconfig } from './mobileconfig.ts';
import { paccBody } from './pacc.ts';
import { parseQuery, single } from './query.ts';
import { PerIpLimiter } from './rate-limit.ts';
import { type DomainServices, domainServices, freeBusyUrl } from './services.ts';
import { RenderedCache } from './rendered-cache.ts';
import { filterRels, type Jrd, type JrdLink, parseResource, REL } from './webfinger.ts';

/**
 * The discovery endpoints on the HTTPS app: WebFinger (RFC 7033), the account configuration
 * document, Thunderbird autoconfig, PACC, Microsoft Autodiscover (POX and v2 JSON) and the Apple
 * profile. Every one is rate-limited per client IP; URLs in answers come from the config, never
 * from the request's Host header.
 */

export interface DiscoveryDeps {
  readonly config: Config;
  readonly directory: Pick<Directory, 'findByAddress' | 'findDomain'>;
  /**
   * The auth core's HTTP strategies (Basic, Bearer, gateway) for domains in
   * `discovery.require_auth`. Absent: such domains answer 401 to everyone (fail closed).
   */
  readonly http?: HttpAuthenticator;
  /** The local CA certificate (PEM) when the server's certificates come from it: Apple profiles carry it. */
  readonly localCaPem?: () => string | undefined;
}

const JRD_TYPE = 'application/jrd+json';

/** The client IP (PROXY-aware), as the HTTPS app's own `clientIp` reads it. */
function clientIp(request: FastifyRequest): string {
  return peerOf(request.raw.socket).remoteAddress;
}

/** An RFC 9457 problem+json answer, the same shape as the HTTPS app's `sendProblem` (discovery may not import protocols/). */
function sendProblem(reply: FastifyReply, status: number, type: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify({ type, status, detail }));
}
const DOMAIN_CACHE_MS = 5_000;
/** WebFinger answers kept by URL, and the longest URL kept (a 512-character resource, escaped, and rels). */
const MAX_ANSWERED = 10_000;
const MAX_ANSWERED_URL = 2_048;
const HOST_PREFIXES = ['autoconfig.', 'ua-auto-config.', 'autodiscover.'];

/** The part of the HTTPS app discovery needs (its routes live in their own encapsulated plugin). */
export interface RouteHost {
  // biome-ignore lint/suspicious/noExplicitAny: the app's server and logger types differ from fastify's defaults; discovery needs neither
  register(plugin: (scope: FastifyInstance<any, any, any, any>) => Promise<void>): unknown;
}

/** Registers every discovery route on `app` (call before `app.ready()`). */
export function registerDiscoveryRoutes(app: RouteHost, deps: DiscoveryDeps): void {
  const { config } = deps;
  const limiter = new PerIpLimiter({ perMinute: config.discovery.rate_limit });
  const requireAuth = new Set(config.discovery.require_auth.map((d) => d.toLowerCase()));
  const publicCache = `public, max-age=${Math.floor(config.discovery.cache_max_age / 1000)}`;
  const servedCache = new Map<string, { served: boolean; until: number }>();
  const servicesCache = new Map<string, DomainServices>();
  /** WebFinger answers by subject, aliases and `rel` filter: the same bytes every time. */
  const jrdCache = new RenderedCache();
  /** Privacy-mode WebFinger 200 answers by request URL (path and query), valid `until`. */
  const answered = new Map<string, { body: string; until: number }>();
  const jrdHeaders = Object.freeze({ 'access-control-allow-origin': '*', 'content-type': JRD_TYPE, 'cache-control': publicCache });
  /** The service list of a served domain: a pure function of the frozen config, so computed once. */
  const servicesOf = (domain: string): DomainServices => {
    let s = servicesCache.get(domain);
    if (!s) {
      if (servicesCache.size > 10_000) servicesCache.clear();
      s = domainServices(config, domain);
      servicesCache.set(domain, s);
    }
    return s;
  };

  /** Whether a domain is served here (cached briefly: every WebFinger request asks). */
  async function served(domain: string): Promise<boolean> {
    const now = Date.now();
    const hit = servedCache.get(domain);
    if (hit && hit.until > now) return hit.served;
    const found = (await deps.directory.findDomain(domain)) !== undefined;
    if (servedCache.size > 10_000) servedCache.clear();
    servedCache.set(domain, { served: found, until: now + DOMAIN_CACHE_MS });
    return found;
  }

  /** The served domain named by the Host header (minus autoconfig./ua-auto-config./autodiscover.). */
  async function domainFromHost(request: FastifyRequest): Promise<string | undefined> {
    const host = request.hostname.toLowerCase().replace(/\.$/, '');
    if (!/^[a-z0-9.-]{1,253}$/.test(host)) return undefined;
    const prefix = HOST_PREFIXES.find((p) => host.startsWith(p));
    const candidates = prefix ? [host.slice(prefix.length), host] : [host];
    for (const c of candidates) if (await served(c)) return c;
    return undefined;
  }

  const cors = (reply: FastifyReply) => reply.header('access-control-allow-origin', '*');
  const problem = (reply: FastifyReply, status: number, detail: string) => sendProblem(cors(reply), status, 'about:blank', detail);

  /** Resolves `emailaddress=` (or the Host) to a served domain and maybe an address; sends 400/404 itself. */
  async function target(
    request: FastifyRequest,
    reply: FastifyReply,
    param: string,
  ): Promise<{ domain: string; address: Address | undefined } | undefined> {
    let raw: string | undefined;
    try {
      raw = single(parseQuery(request.url), param);
    } catch (err) {
      problem(reply, 400, (err as Error).message);
      return undefined;
    }
    if (raw !== undefined && raw !== '') {
      const address = raw.length <= 320 ? tryParseAddress(raw.trim()) : undefined;
      if (!address) {
        problem(reply, 400, `${param} is not an email address`);
        return undefined;
      }
      if (!(await served(address.domain))) {
        problem(reply, 404, 'this server does not serve that domain');
        return undefined;
      }
      return { domain: address.domain, address };
    }
    const domain = await domainFromHost(request);
    if (!domain) {
      problem(reply, 404, `give ${param}=ADDRESS: the host name does not name a domain served here`);
      return undefined;
    }
    return { domain, address: undefined };
  }

  const display = (a: Address) => `${a.local}@${a.domain}`;

  app.register(async (scope) => {
    // A callback hook: no promise per request.
    scope.addHook('onRequest', (request, reply, done) => {
      const waitMs = limiter.take(clientIp(request));
      if (waitMs > 0) {
        reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
        problem(reply, 429, 'too many discovery requests from this address; slow down');
        return;
      }
      done();
    });
    // Autodiscover POSTs text/xml; read it as a string, size-capped per route.
    scope.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

    // ---- WebFinger (RFC 7033 §4) ----
    scope.options('/.well-known/webfinger', async (_request, reply) => {
      cors(reply)
        .header('access-control-allow-methods', 'GET, OPTIONS')
        .header('access-control-allow-headers', 'Accept')
        .header('access-control-max-age', '86400')
        .code(204)
        .send();
    });

    scope.get('/.well-known/webfinger', async (request, reply) => {
      // In privacy mode a 200 answer depends only on the URL and on the domain being served, so the
      // same URL gets the same bytes until the served-domain answer it relied on is re-checked.
      const known = answered.get(request.url);
      if (known && known.until > Date.now()) {
        reply.headers(jrdHeaders);
        return known.body;
      }
      let query: Map<string, string[]>;
      let resource: string | undefined;
      try {
        query = parseQuery(request.url);
        resource = single(query, 'resource');
      } catch (err) {
        return problem(reply, 400, (err as Error).message);
      }
      if (resource === undefined) return problem(reply, 400, 'the resource parameter is required (RFC 7033 §4.2)');
      const parsed = parseResource(resource);
      if (parsed.kind === 'malformed') return problem(reply, 400, parsed.reason);
      if (parsed.kind === 'unknown') return problem(reply, 404, 'no such resource here');
      const address = parsed.address;
      if (!(await served(address.domain))) return problem(reply, 404, 'no such resource here');
      let subjectAddress = display(address);
      let aliases: string[] | undefined;
      if (!config.discovery.privacy) {
        const account = await deps.directory.findByAddress(address.normalized);
        if (!account || account.disabled) return problem(reply, 404, 'no such resource here');
        subjectAddress = account.address;
        aliases = [`mailto:${account.address}`];
      }
      const rels = query.get('rel') ?? [];
      const body = jrdCache.get(JSON.stringify([address.domain, subjectAddress, aliases ? 1 : 0, rels]), () => {
        const jrd: Jrd = {
          subject: acctUri(subjectAddress.slice(0, subjectAddress.lastIndexOf('@')), address.domain),
          ...(aliases ? { aliases } : {}),
          links: links(servicesOf(address.domain), subjectAddress),
        };
        return JSON.stringify(filterRels(jrd, rels));
      });
      const until = servedCache.get(address.domain)?.until;
      if (config.discovery.privacy && until !== undefined && request.url.length <= MAX_ANSWERED_URL) {
        if (answered.size >= MAX_ANSWERED) answered.delete(answered.keys().next().value!);
        answered.set(request.url, { body, until });
      }
      reply.headers(jrdHeaders);
      return body;
    });

    function links(services: DomainServices, address: string): JrdLink[] {
      const out: JrdLink[] = [];
      if (services.oauth) out.push({ rel: REL.issuer, href: services.oauth.issuer });
      out.push({
        rel: REL.mailConfig,
        type: 'application/json',
        href: `${config.publicUrl}/discovery/config?emailaddress=${encodeURIComponent(address)}`,
      });
      for (const s of services.services) {
        if (s.protocol === 'jmap') out.push({ rel: REL.jmap, type: 'application/json', href: s.url });
        if (s.protocol === 'calendar') {
          out.push({ rel: REL.freebusy, type: 'text/calendar', href: freeBusyUrl(config, address) });
          // The DAV homes (RFC 4791 §6.2.1, RFC 6352 §7.1.1) the address's calendar and contacts live in.
          const who = encodeURIComponent(address).replace(/%40/g, '@');
          out.push({ rel: REL.caldav, href: `${config.publicUrl}/dav/calendars/${who}/` });
          out.push({ rel: REL.carddav, href: `${config.publicUrl}/dav/addressbooks/${who}/` });
        }
      }
      return out;
    }

    // ---- The account configuration document ----
    scope.get('/discovery/config', async (request, reply) => {
      const t = await target(request, reply, 'emailaddress');
      if (!t) return reply;
      let username = t.address ? display(t.address) : undefined;
      if (requireAuth.has(t.domain)) {
        if (!deps.http) return sendProblem(reply, 401, 'about:blank', 'this domain requires authentication for its configuration document');
        // a mail-scoped credential (password, app password, or a token for the JMAP resource) opens it
        const auth = await authenticateRequest(deps.http, request, reply, { resource: resourceIds(config).jmap, scope: 'mail' });
        if (!auth) return reply;
        if (auth.account.domain !== t.domain) return sendProblem(reply, 403, 'about:blank', 'you are signed in for another domain');
        username = auth.account.address;
        reply.header('cache-control', 'private, no-store');
      } else {
        cors(reply).header('cache-control', publicCache);
      }
      reply.header('content-type', 'application/json; charset=utf-8');
      return JSON.stringify(configDocument(servicesOf(t.domain), username));
    });

    // ---- Thunderbird autoconfig (answers without emailaddress= too) ----
    const autoconfig = async (request: FastifyRequest, reply: FastifyReply) => {
      const t = await target(request, reply, 'emailaddress');
      if (!t) return reply;
      reply.header('content-type', 'text/xml; charset=utf-8').header('cache-control', publicCache);
      return autoconfigXml(servicesOf(t.domain), t.address ? display(t.address) : undefined);
    };
    scope.get('/.well-known/autoconfig/mail/config-v1.1.xml', autoconfig);
    scope.get('/mail/config-v1.1.xml', autoconfig);

    // ---- PACC ----
    scope.get('/.well-known/user-agent-configuration.json', async (request, reply) => {
      const domain = await domainFromHost(request);
      if (!domain) return problem(reply, 404, 'the host name does not name a domain served here');
      cors(reply).header('content-type', 'application/json').header('cache-control', publicCache);
      return paccBody(servicesOf(domain));
    });

    // ---- Microsoft Autodiscover (POX) ----
    const pox = async (request: FastifyRequest<{ Body: unknown }>, reply: FastifyReply) => {
      reply.header('content-type', 'text/xml; charset=utf-8').header('cache-control', 'no-store');
      if (request.method !== 'POST' || typeof request.body !== 'string') return poxError(600, 'Invalid Request');
      const parsed = parsePoxRequest(request.body);
      if (!parsed.ok) return poxError(600, 'Invalid Request');
      if (!parsed.schema.startsWith('http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/')) {
        return poxError(600, 'Invalid Request');
      }
      const address = tryParseAddress(parsed.email);
      if (!address || !(await served(address.domain))) return poxError(600, 'Invalid Request');
      return poxResponse(servicesOf(address.domain), display(address));
    };
    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      scope.post(path, { bodyLimit: MAX_REQUEST_BYTES }, pox);
      scope.get(path, pox);
    }

    // ---- Autodiscover v2 JSON: points at the POX endpoint ----
    const v2 = async (request: FastifyRequest<{ Params: { email?: string } }>, reply: FastifyReply) => {
      let protocol: string | undefined;
      let email: string | undefined;
      try {
        const q = parseQuery(request.url);
        protocol = single(q, 'Protocol') ?? single(q, 'protocol');
        email = request.params.email ?? single(q, 'Email') ?? single(q, 'email');
      } catch (err) {
        return problem(reply, 400, (err as Error).message);
      }
      const address = email ? tryParseAddress(email) : undefined;
      if (!address) return reply.code(400).send({ ErrorCode: 'InvalidUser', ErrorMessage: 'Email is not a valid address' });
      if (!(await served(address.domain)))
        return reply.code(404).send({ ErrorCode: 'UserNotFound', ErrorMessage: 'This domain is not served here' });
      const answer = v2Answer(config.publicUrl, protocol ?? '');
      reply.header('cache-control', publicCache);
      return reply.code(answer.status).send(answer.body);
    };
    for (const path of ['/autodiscover/autodiscover.json', '/Autodiscover/Autodiscover.json']) {
      scope.get(path, v2);
      scope.get(`${path}/v1.0/:email`, v2);
    }

    // ---- Apple configuration profile ----
    scope.get('/apple/mail.mobileconfig', async (request, reply) => {
      const t = await target(request, reply, 'emailaddress');
      if (!t) return reply;
      if (!t.address) return problem(reply, 400, 'emailaddress is required for a configuration profile');
      const profile = mobileconfig(servicesOf(t.domain), display(t.address), deps.localCaPem?.());
      if (!profile) return problem(reply, 409, 'no password-capable IMAP/POP3 and submission service: Apple profiles cannot carry OAuth');
      reply
        .header('content-type', MOBILECONFIG_TYPE)
        .header('content-disposition', `attachment; filename="${t.domain}.mobileconfig"`)
        .header('cache-control', 'no-store');
      return profile;
    });
  });
}
