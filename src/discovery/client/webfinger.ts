import { acctUri, webfingerUrl } from './acct.ts';
import { FetchError, type HttpOptions, httpsGet, jsonObject } from './http.ts';

/**
 * Client side of WebFinger (RFC 7033 §4): queries the host of the address over HTTPS only, reads
 * the JRD leniently (unknown members ignored, §4.4) and filters `rel` itself because a server may
 * ignore the parameter (§4.3).
 */

export interface ClientLink {
  readonly rel: string;
  readonly href?: string;
  readonly type?: string;
}

export interface ClientJrd {
  readonly subject?: string;
  readonly aliases: readonly string[];
  readonly links: readonly ClientLink[];
}

export type WebfingerOutcome =
  | { readonly ok: true; readonly url: string; readonly jrd: ClientJrd }
  | { readonly ok: false; readonly url: string; readonly status?: number; readonly reason: string; readonly code?: string };

/** Reads a JRD from parsed JSON; undefined when it is not one. */
export function readJrd(doc: Record<string, unknown>): ClientJrd | undefined {
  if (doc.links !== undefined && !Array.isArray(doc.links)) return undefined;
  const links: ClientLink[] = [];
  for (const l of (doc.links as unknown[] | undefined) ?? []) {
    if (!l || typeof l !== 'object') continue;
    const { rel, href, type } = l as Record<string, unknown>;
    if (typeof rel !== 'string') continue;
    links.push({ rel, ...(typeof href === 'string' ? { href } : {}), ...(typeof type === 'string' ? { type } : {}) });
  }
  return {
    ...(typeof doc.subject === 'string' ? { subject: doc.subject } : {}),
    aliases: Array.isArray(doc.aliases) ? doc.aliases.filter((a): a is string => typeof a === 'string') : [],
    links,
  };
}

/**
 * WebFinger for `local@domain`, asking for `rels` (and keeping only those links). `origin` asks
 * another host (and port) than the domain's own: the local fallback and `--issuer`'s origin.
 */
export async function webfinger(
  address: string,
  rels: readonly string[],
  options: HttpOptions = {},
  origin?: { host: string; port?: number },
): Promise<WebfingerOutcome> {
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1).toLowerCase();
  const url = webfingerUrl(origin?.host ?? domain, acctUri(address.slice(0, at), domain), rels, origin?.port);
  let res: Awaited<ReturnType<typeof httpsGet>>;
  try {
    res = await httpsGet(url, options, 'application/jrd+json, application/json;q=0.9');
  } catch (err) {
    if (err instanceof FetchError) return { ok: false, url, reason: err.message, ...(err.code ? { code: err.code } : {}) };
    return { ok: false, url, reason: String(err) };
  }
  if (res.status !== 200) return { ok: false, url, status: res.status, reason: `HTTP ${res.status}` };
  const doc = jsonObject(res.body);
  const jrd = doc && readJrd(doc);
  if (!jrd) return { ok: false, url, status: res.status, reason: 'the answer is not a JRD document' };
  const wanted = new Set(rels);
  return { ok: true, url: res.url, jrd: rels.length ? { ...jrd, links: jrd.links.filter((l) => wanted.has(l.rel)) } : jrd };
}

/** The first https `href` of a relation. */
export function linkHref(jrd: ClientJrd, rel: string): string | undefined {
  return jrd.links.find((l) => l.rel === rel && l.href?.startsWith('https://'))?.href;
}
