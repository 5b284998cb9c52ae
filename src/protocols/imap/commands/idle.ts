import { SIGNED_IN } from '../state.ts';
import { ALREADY_SENT, bad, command, ok } from '../context.ts';

/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13): mailbox changes are pushed as they commit until the client
 * sends DONE. A token that expires meanwhile ends the session per the auth core's policy.
 */
export const idle = command({
  names: ['IDLE'],
  states: SIGNED_IN,
  async run(ctx) {
    const r = await ctx.idle();
    if (r === 'done') return ok('IDLE terminated');
    if (r === 'bad') return bad('Expected DONE', 'CLIENTBUG');
    return ALREADY_SENT;
  },
});
