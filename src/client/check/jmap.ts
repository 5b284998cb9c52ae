import { parseWwwAuthenticate } from '../../auth/sasl/www-authenticate.ts';
import { type ConnectTo, connectToFetch } from '../oauth/connect-to.ts';
import { adviceForStatus } from './advice.ts';
import type { CheckResult } from './result.ts';

/**
 * JMAP: an authenticated GET of the session resource (RFC 8620 §2) with the bearer token
 * (RFC 6750 §2.1); a 401 is explained from its WWW-Authenticate `error` (RFC 6750 §3.1).
 */
export async function checkJmap(url: string, user: string, token: string, connectTo?: ConnectTo): Promise<CheckResult> {
  const base = { service: 'jmap', endpoint: url, mechanism: 'Bearer' };
  const get = (connectToFetch(connectTo) ?? fetch) as (url: string, init: RequestInit) => Promise<Response>;
  const res = await get(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  if (res.status === 401 || res.status === 403) {
    const bearer = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '').find((c) => c.scheme.toLowerCase() === 'bearer');
    const error = bearer?.params.error ?? (res.status === 403 ? 'insufficient_scope' : 'invalid_token');
    const desc = bearer?.params.error_description;
    const advice = adviceForStatus(error, bearer?.params.scope, user);
    await res.body?.cancel();
    return {
      ...base,
      ok: false,
      detail: `HTTP ${res.status} ${error}${desc ? ` (${desc.slice(0, 120)})` : ''}`,
      ...(advice ? { advice } : {}),
    };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return { ...base, ok: false, detail: `HTTP ${res.status}`, ...(res.status >= 500 ? { temporary: true } : {}) };
  }
  let session: { accounts?: Record<string, unknown>; capabilities?: Record<string, unknown>; username?: string };
  try {
    session = (await res.json()) as typeof session;
  } catch {
    return { ...base, ok: false, detail: 'the session resource is not JSON' };
  }
  const accounts = Object.keys(session.accounts ?? {}).length;
  const mail = session.capabilities && 'urn:ietf:params:jmap:mail' in session.capabilities;
  return {
    ...base,
    ok: true,
    detail: `session for ${session.username ?? '?'}; ${accounts} account${accounts === 1 ? '' : 's'}${mail ? ', mail' : ''}`,
  };
}
