import { SaslExchange } from '../../../auth/sasl/exchange.ts';
import { driveSasl } from '../../../net/drive-sasl.ts';
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
    const end = await driveSasl(exchange, cmd.initial ?? undefined, {
      challenge: async (text) => {
        const line = await ctx.continueAndReadLine(text);
        return line === null ? { kind: 'closed' } : { kind: 'line', text: line.toString('latin1') };
      },
      authenticate: (credentials) => ctx.deps.auth.authenticate(credentials, ctx.authContext),
    });
    switch (end.kind) {
      case 'closed':
      case 'too_long':
        return no('Connection closed');
      case 'failed':
        switch (end.reason) {
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
      default:
        // RFC 7628 §3.2.2: after the error challenge, whatever the client answered, the command fails.
        return signInAnswer(ctx, end.verdict);
    }
  },
});
