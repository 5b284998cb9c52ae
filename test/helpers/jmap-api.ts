import assert from 'node:assert/strict';
import type { caFetch } from './https-fetch.ts';

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field by the tests
type Json = any;

/**
 * A raw-HTTP JMAP caller (RFC 8620 §3.3) for tests: `call(user, methodCalls)` POSTs one request
 * to `baseUrl`/jmap/api with Basic credentials and answers its `methodResponses`.
 */
export function jmapApi(
  fetchCa: ReturnType<typeof caFetch>,
  baseUrl: () => string,
  password: string,
  using: readonly string[],
): (user: string, methodCalls: unknown[]) => Promise<Json[]> {
  return async (user, methodCalls) => {
    const res = await fetchCa(`${baseUrl()}/jmap/api`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ using, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  };
}
