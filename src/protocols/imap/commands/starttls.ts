import { NOT_AUTHENTICATED } from '../state.ts';
import { ALREADY_SENT, bad, command, type Tagged } from '../context.ts';
import { tagged } from '../wire/encoder.ts';

/**
 * STARTTLS (RFC 9051 §6.2.1): only on the cleartext port and before login. Bytes pipelined after
 * the command are dropped (STARTTLS command injection, STANDARDS §8.1); the session stays not
 * authenticated and the client asks for capabilities again.
 */
export const starttls = command({
  names: ['STARTTLS'],
  states: NOT_AUTHENTICATED,
  async run(ctx, cmd): Promise<Tagged> {
    if (ctx.secure) return bad('TLS is already active', 'CLIENTBUG');
    await ctx.startTls(tagged(cmd.tag, 'OK', 'Begin TLS negotiation now'));
    return ALREADY_SENT;
  },
});
