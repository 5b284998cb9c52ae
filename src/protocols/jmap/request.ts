import { isObject, type JsonObject } from './args.ts';
import { KNOWN_CAPABILITIES, type JmapLimits } from './capabilities.ts';
import { PROBLEM } from './errors.ts';
import { type JsonValue, parseIJson } from './i-json.ts';
import { isJmapId } from './ids.ts';

/** A validated JMAP Request object (RFC 8620 §3.3). */
export interface JmapRequest {
  readonly using: readonly string[];
  readonly methodCalls: ReadonlyArray<readonly [string, JsonObject, string]>;
  readonly createdIds?: Readonly<Record<string, string>>;
}

/** A request-level failure, answered as problem+json (RFC 8620 §3.6.1). */
export interface RequestProblem {
  readonly status: number;
  readonly type: string;
  readonly detail: string;
  readonly limit?: string;
}

export type RequestParse = { readonly ok: true; readonly request: JmapRequest } | { readonly ok: false; readonly problem: RequestProblem };

function problem(type: string, detail: string, extra: { status?: number; limit?: string } = {}): RequestParse {
  return { ok: false, problem: { status: extra.status ?? 400, type, detail, ...(extra.limit ? { limit: extra.limit } : {}) } };
}

/** True when the media type is `application/json` (parameters such as charset=utf-8 allowed). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return !charset || /^charset="?utf-8"?$/.test(charset);
}

/**
 * Parses and validates an API request body (RFC 8620 §3.3): I-JSON (`notJSON`), the Request
 * shape (`notRequest`), capabilities in `using` (`unknownCapability`) and the request limits
 * (`limit` naming `maxSizeRequest` or `maxCallsInRequest`).
 */
export function parseRequest(body: Uint8Array, contentType: string | undefined, limits: JmapLimits): RequestParse {
  if (body.length > limits.maxSizeRequest) {
    return problem(PROBLEM.limit, `the request is larger than ${limits.maxSizeRequest} bytes`, { limit: 'maxSizeRequest' });
  }
  if (!isJsonContentType(contentType)) return problem(PROBLEM.notJSON, 'the request content type must be application/json');
  const parsed = parseIJson(body);
  if (!parsed.ok) return problem(PROBLEM.notJSON, `the request is not I-JSON: ${parsed.error} at offset ${parsed.position}`);
  return validateRequest(parsed.value, limits);
}

/** Validates a parsed Request object (also used for WebSocket frames, RFC 8887 §4.3.1). */
export function validateRequest(value: JsonValue, limits: JmapLimits): RequestParse {
  if (!isObject(value)) return problem(PROBLEM.notRequest, 'the request must be a JSON object');
  const { using, methodCalls, createdIds } = value;
  if (!Array.isArray(using) || !using.every((u) => typeof u === 'string')) {
    return problem(PROBLEM.notRequest, '"using" must be an array of capability strings');
  }
  if (!Array.isArray(methodCalls)) return problem(PROBLEM.notRequest, '"methodCalls" must be an array');
  const calls: Array<[string, JsonObject, string]> = [];
  for (const call of methodCalls) {
    if (!Array.isArray(call) || call.length !== 3 || typeof call[0] !== 'string' || !isObject(call[1]) || typeof call[2] !== 'string') {
      return problem(PROBLEM.notRequest, 'each method call must be [name, arguments object, method call id]');
    }
    calls.push([call[0], call[1], call[2]]);
  }
  if (createdIds !== undefined && createdIds !== null) {
    if (!isObject(createdIds) || !Object.entries(createdIds).every(([k, v]) => isJmapId(k) && isJmapId(v))) {
      return problem(PROBLEM.notRequest, '"createdIds" must map creation ids to ids');
    }
  }
  const unknown = (using as string[]).filter((u) => !KNOWN_CAPABILITIES.has(u));
  if (unknown.length) {
    return problem(PROBLEM.unknownCapability, `unknown capabilities: ${unknown.map((u) => JSON.stringify(u.slice(0, 200))).join(', ')}`);
  }
  if (calls.length > limits.maxCallsInRequest) {
    return problem(PROBLEM.limit, `more than ${limits.maxCallsInRequest} method calls`, { limit: 'maxCallsInRequest' });
  }
  return {
    ok: true,
    request: {
      using: using as string[],
      methodCalls: calls,
      ...(isObject(createdIds) ? { createdIds: createdIds as Record<string, string> } : {}),
    },
  };
}
