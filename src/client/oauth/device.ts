import * as oidc from 'openid-client';
import { localProblem } from '../errors.ts';
import { translateOAuthError } from './errors.ts';
import { type FlowContext, scopeAndResources, type TokenResponse, tokenParams } from './flow.ts';

/**
 * The device authorization grant (RFC 8628): ask for a user code (§3.1), tell the person where
 * to enter it (§3.3), then poll the token endpoint (§3.4) at the given interval, adding 5 seconds
 * for every `slow_down` (§3.5; openid-client does this) until the grant or a final error.
 */
export async function deviceFlow(ctx: FlowContext): Promise<TokenResponse> {
  if (!ctx.config.serverMetadata().device_authorization_endpoint)
    throw localProblem('the issuer offers no device authorization endpoint', 'use --flow loopback or --flow paste');
  const params = scopeAndResources(ctx);
  for (const [k, v] of Object.entries(ctx.authParams)) params.set(k, v);
  let response: oidc.DeviceAuthorizationResponse;
  try {
    response = await oidc.initiateDeviceAuthorization(ctx.config, params);
  } catch (err) {
    throw translateOAuthError(err, ctx.address, 'starting the device sign-in');
  }
  ctx.note(`To sign in ${ctx.address}, open ${response.verification_uri} and enter the code ${response.user_code}`);
  if (response.verification_uri_complete) ctx.note(`  (or open ${response.verification_uri_complete})`);
  const minutes = Math.round(response.expires_in / 60);
  ctx.note(`Waiting for you to approve (the code expires in ${minutes >= 1 ? `${minutes} minutes` : `${response.expires_in} seconds`})…`);
  const signal = AbortSignal.timeout(Math.min(ctx.timeoutMs, response.expires_in * 1000));
  try {
    return await oidc.pollDeviceAuthorizationGrant(ctx.config, response, tokenParams(ctx), { signal });
  } catch (err) {
    if ((err as Error)?.name === 'TimeoutError' || (err as { cause?: Error })?.cause?.name === 'TimeoutError')
      throw localProblem('the device code expired before the sign-in was approved', 'run fingerpost login again');
    throw translateOAuthError(err, ctx.address, 'waiting for the device sign-in');
  }
}
