import { Args, type JsonObject } from './args.ts';
import { type Caller, type JmapServices, MethodContext } from './context.ts';
import { MethodError } from './errors.ts';
import { jsonSize } from './json-size.ts';
import { type Invocation, type ReferenceBudget, resolveReferences } from './result-reference.ts';
import type { JmapRequest } from './request.ts';

/** One JMAP method: the capability `using` must name, and its implementation. */
export interface MethodDefinition {
  readonly capability: string;
  run(args: Args, ctx: MethodContext): Promise<JsonObject>;
}

export type MethodTable = Readonly<Record<string, MethodDefinition>>;

/** A JMAP Response object (RFC 8620 §3.4). */
export interface JmapResponse {
  methodResponses: Invocation[];
  sessionState: string;
  createdIds?: Record<string, string>;
}

function errorResponse(err: MethodError, callId: string): Invocation {
  return ['error', { type: err.type, ...(err.extra as JsonObject) }, callId];
}

/** Methods that change state (RFC 8620 §5.3, §5.4; RFC 8621 §4.8). */
const CHANGES_STATE = /\/(set|copy|import)$/;

/** Failures whose stack was logged already: a client repeating one does not fill the log with copies. */
const loggedFailures = new Set<string>();
const MAX_LOGGED_FAILURES = 100;

/** Logs an unexpected failure; its stack trace once per process and kind (method, error type and message). */
function logFailure(services: JmapServices, method: string, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const key = `${method}\0${e.name}\0${e.message}`;
  const first = !loggedFailures.has(key) && loggedFailures.size < MAX_LOGGED_FAILURES;
  if (first) loggedFailures.add(key);
  services.logger.error({ err: e.message, method, ...(first ? { stack: e.stack } : {}) }, 'JMAP method failed');
}

/**
 * Runs the method calls of a request in order (RFC 8620 §3.3, §3.10): result references are
 * resolved against earlier responses, a failing call becomes an `error` response and processing
 * continues, creation ids flow into `createdIds`. The references of a request resolve to at most
 * `maxSizeRequest` and its response holds at most `jmap.max_size_response` of JSON; a call past
 * either is answered `requestTooLarge` naming the limit.
 */
export async function processRequest(
  request: JmapRequest,
  services: JmapServices,
  caller: Caller,
  methods: MethodTable,
  sessionState: string,
): Promise<JmapResponse> {
  const using = new Set(request.using);
  const createdIds = new Map(Object.entries(request.createdIds ?? {}));
  const ctx = new MethodContext(services, caller, using, createdIds);
  const responses: Invocation[] = [];
  // RFC 8620 §8.5: what references resolve to, and the response, are bounded however small the request.
  const references: ReferenceBudget = { remaining: services.limits.maxSizeRequest };
  let responseLeft = services.config.jmap.max_size_response;
  for (const [name, rawArgs, callId] of request.methodCalls) {
    const method = Object.hasOwn(methods, name) ? methods[name] : undefined;
    if (!method || !using.has(method.capability)) {
      responses.push(errorResponse(new MethodError('unknownMethod', `${name} is not available with the capabilities in "using"`), callId));
      continue;
    }
    ctx.extra = [];
    try {
      const args = resolveReferences(rawArgs, responses, references);
      const result = await method.run(new Args(args), ctx);
      const produced: Invocation[] = [[name, result, callId], ...ctx.extra.map(([n, a]): Invocation => [n, a, callId])];
      const size = jsonSize(produced, responseLeft);
      // A call that changed state is answered whatever it costs (its answer is bounded by
      // maxObjectsInSet); only calls that read are refused, since an error means nothing changed.
      if (size > responseLeft && !CHANGES_STATE.test(name)) {
        throw new MethodError(
          'requestTooLarge',
          `with this call the response would pass ${services.config.jmap.max_size_response} bytes; ask for less (fewer ids or properties, maxBodyValueBytes)`,
          {
            limit: 'maxSizeResponse',
          },
        );
      }
      responseLeft = Math.max(0, responseLeft - size);
      responses.push(...produced);
    } catch (err) {
      if (err instanceof MethodError) {
        if (err.type === 'requestTooLarge') services.limitHit?.(String(err.extra['limit'] ?? 'requestTooLarge'));
        responses.push(errorResponse(err, callId));
      } else {
        logFailure(services, name, err);
        responses.push(errorResponse(new MethodError('serverFail', 'the server could not complete this call'), callId));
      }
    }
  }
  return {
    methodResponses: responses,
    sessionState,
    ...(request.createdIds ? { createdIds: Object.fromEntries(createdIds) } : {}),
  };
}
