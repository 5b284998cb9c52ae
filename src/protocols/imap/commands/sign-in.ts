import type { AuthFailure, AuthOutcome } from '../../../auth/types.ts';
import { type CommandContext, no, ok, type Tagged } from '../context.ts';

/**
 * The tagged answer for a LOGIN/AUTHENTICATE outcome (RFC 9051 §7.1 with the RFC 5530 codes):
 * success enters the authenticated state and lists the new capabilities; a failure never says
 * which part of the credential was wrong.
 */
export function signInAnswer(ctx: CommandContext, outcome: AuthOutcome): Tagged {
  if (outcome.ok) {
    ctx.signIn(outcome);
    return ok('Authenticated', `CAPABILITY ${ctx.capabilities().join(' ')}`);
  }
  ctx.authFailed();
  return failure(outcome);
}

function failure(f: AuthFailure): Tagged {
  switch (f.code) {
    case 'invalid_credentials':
      return no('Authentication failed', 'AUTHENTICATIONFAILED');
    case 'invalid_token':
      return f.expired ? no('Access token expired', 'EXPIRED') : no('Authentication failed', 'AUTHENTICATIONFAILED');
    case 'insufficient_scope':
    case 'authorization_failed':
      return no(f.publicReason, 'AUTHORIZATIONFAILED');
    case 'policy':
      return no(f.publicReason, 'CANNOT');
    case 'rate_limited':
    case 'temporary':
      return no(f.publicReason, 'UNAVAILABLE');
    default:
      return no('Authentication failed', 'AUTHENTICATIONFAILED');
  }
}
