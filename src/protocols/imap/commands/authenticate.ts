import { SaslExchange, type SaslStep } from '../../../auth/sasl/exchange.ts';
import { NOT_AUTHENTICATED } from '../state.ts';
import { bad, command, no, type Tagged } from '../context.ts';
import { signInAnswer } from './sign-in.ts';

/**
 * AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR RFC 4959) through the shared SASL exchange: PLAIN, LOGIN,
 * OAUTHBEARER and XOAUTH2 as the listener's policy offers them, never before TLS. A rejected
 * bearer token gets the RFC 7628 §3.2.2 JSON challenge before the tagged NO. `*` cancels (BAD),
 * invalid base64 is BAD (RFC 9051 §6.2.2). SASL payloads are never logged.
 */
export const authenticate = command({
  names: ['AUTHENTICATE'],
  states: NOT_AUTHENTICATED,
  async run(ctx, cmd): Promise<Tagged> {
    if (!ctx.secure) {
      ctx.authFailed();
      return no('Use STARTTLS first: no authentication on a cleartext connection', 'PRIVACYREQUIRED');
    }
    const offered = ctx.deps.auth.policy(ctx.listener).mechanisms(true);
    const exchange = new SaslExchange(cmd.mechanism, offered);
    if (!exchange.mechanism) return no('Unsupported authentication mechanism', 'CANNOT');
    let step: SaslStep = exchange.begin(cmd.initial ?? undefined);
    for (;;) {
      if (step.kind === 'challenge') {
        const line = await ctx.continueAndReadLine(step.text);
        if (line === null) return no('Connection closed');
        step = exchange.respond(line.toString('latin1'));
        continue;
      }
      if (step.kind === 'failed') {
        switch (step.reason) {
          case 'cancelled':
            return bad('Authentication cancelled');
          case 'invalid_base64':
            return bad('Invalid base64 in the SASL response', 'CLIENTBUG');
          case 'unsupported_mechanism':
            return no('Unsupported authentication mechanism', 'CANNOT');
          case 'protocol_error':
            return bad('SASL protocol error', 'CLIENTBUG');
          default:
            ctx.authFailed();
            return no('Authentication failed', 'AUTHENTICATIONFAILED');
        }
      }
      const outcome = await ctx.deps.auth.authenticate(step.credentials, ctx.authContext);
      if (outcome.ok || outcome.code === 'temporary' || outcome.code === 'rate_limited') return signInAnswer(ctx, outcome);
      const next = exchange.reject(outcome.oauth);
      if (next.kind !== 'challenge') return signInAnswer(ctx, outcome);
      // RFC 7628 §3.2.2: the error JSON goes out as a challenge; whatever the client answers, the command fails.
      const line = await ctx.continueAndReadLine(next.text);
      if (line === null) return no('Connection closed');
      exchange.respond(line.toString('latin1'));
      return signInAnswer(ctx, outcome);
    }
  },
});
