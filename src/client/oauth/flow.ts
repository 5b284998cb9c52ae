import type * as oidc from 'openid-client';

/** What every sign-in flow needs (issue 9 item 1). */
export interface FlowContext {
  readonly address: string;
  readonly config: oidc.Configuration;
  readonly scopes: readonly string[];
  /** Resource indicators for the authorization request (RFC 8707 §2.1). */
  readonly resources: readonly string[];
  /** The one resource the first access token is asked for at the token endpoint (RFC 8707 §2.2). */
  readonly tokenResource: string | undefined;
  /** Provider-specific extra authorization parameters (Google's access_type=offline). */
  readonly authParams: Readonly<Record<string, string>>;
  /** Diagnostics and instructions for the person (stderr). */
  readonly note: (line: string) => void;
  /** Gives up after this long (default 10 minutes). */
  readonly timeoutMs: number;
}

export type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** Token endpoint parameters that carry the resource indicator, if any. */
export function tokenParams(ctx: Pick<FlowContext, 'tokenResource'>): URLSearchParams {
  const p = new URLSearchParams();
  if (ctx.tokenResource) p.append('resource', ctx.tokenResource);
  return p;
}

/** `scope` plus one `resource` per indicator (RFC 8707 §2.1: the parameter may repeat). */
export function scopeAndResources(ctx: Pick<FlowContext, 'scopes' | 'resources'>): URLSearchParams {
  const p = new URLSearchParams();
  p.set('scope', ctx.scopes.join(' '));
  for (const r of ctx.resources) p.append('resource', r);
  return p;
}
