import { decodeBase64, encodeBase64 } from '../../auth/sasl/base64.ts';
import { decodeOAuthBearerFailure, encodeOAuthBearer } from '../../auth/sasl/oauthbearer.ts';
import { decodeXOAuth2Failure, encodeXOAuth2 } from '../../auth/sasl/xoauth2.ts';
import type { Mechanism } from './result.ts';

/** The base64 initial response for a mechanism (RFC 7628 §3.1; XOAUTH2 per STANDARDS §2.7). */
export function initialResponse(mechanism: Mechanism, user: string, token: string, host: string, port: number): string {
  return encodeBase64(
    mechanism === 'OAUTHBEARER' ? encodeOAuthBearer({ authzid: user, host, port, token }) : encodeXOAuth2({ user, token }),
  );
}

/**
 * What a client answers to a failure challenge: a lone 0x01 for OAUTHBEARER (RFC 7628 §3.2.3),
 * an empty response for XOAUTH2 (STANDARDS §2.7).
 */
export function dummyResponse(mechanism: Mechanism): string {
  return mechanism === 'OAUTHBEARER' ? 'AQ==' : '';
}

/** Reads a failure challenge (base64 JSON) into words for the check line; never throws. */
export function describeChallenge(mechanism: Mechanism, b64: string): { status: string; scope?: string; text: string } {
  const bytes = decodeBase64(b64.trim());
  if (!bytes.ok) return { status: 'unknown', text: 'the server sent an unreadable challenge' };
  if (mechanism === 'OAUTHBEARER') {
    const f = decodeOAuthBearerFailure(bytes.value);
    if (!f.ok) return { status: 'unknown', text: 'the server sent an unreadable challenge' };
    return {
      status: f.value.status,
      ...(f.value.scope ? { scope: f.value.scope } : {}),
      text: `status ${f.value.status}${f.value.scope ? `, scope ${f.value.scope}` : ''}`,
    };
  }
  const f = decodeXOAuth2Failure(bytes.value);
  if (!f.ok) return { status: 'unknown', text: 'the server sent an unreadable challenge' };
  return {
    status: f.value.status,
    ...(f.value.scope ? { scope: f.value.scope } : {}),
    text: `status ${f.value.status}${f.value.scope ? `, scope ${f.value.scope}` : ''}`,
  };
}
