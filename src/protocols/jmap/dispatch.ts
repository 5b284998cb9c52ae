import { Args, type JsonObject } from './args.ts';
import { type Caller, type JmapServices, MethodContext } from './context.ts';
import { MethodError } from './errors.ts';
import { type Invocation, resolveReferences } from './result-reference.ts';
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

/**
 * Runs the method calls of a request in order (RFC 8620 §3.3, §3.10): result references are
 * resolved against earlier responses, a failing call becomes an `error` response and processing
 * continues, creation ids flow into `createdIds`.
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
  for (const [name, rawArgs, callId] of request.methodCalls) {
    const method = Object.hasOwn(methods, name) ? methods[name] : undefined;
    if (!method || !using.has(method.capability)) {
      responses.push(errorResponse(new MethodError('unknownMethod', `${name} is not available with the capabilities in "using"`), callId));
      continue;
    }
    ctx.extra = [];
    try {
      const args = resolveReferences(rawArgs, responses);
      const result = await method.run(new Args(args), ctx);
      responses.push([name, result, callId]);
      for (const [extraName, extraArgs] of ctx.extra) responses.push([extraName, extraArgs, callId]);
    } catch (err) {
      if (err instanceof MethodError) {
        responses.push(errorResponse(err, callId));
      } else {
        services.logger.error({ err: (err as Error).message, stack: (err as Error).stack, method: name }, 'JMAP method failed');
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
