import { ANY_STATE } from '../state.ts';
import { command, ok } from '../context.ts';

/** CAPABILITY (RFC 9051 §6.1.1): what this connection can do now (before/after TLS and login). */
export const capability = command({
  names: ['CAPABILITY'],
  states: ANY_STATE,
  async run(ctx) {
    ctx.send(`* CAPABILITY ${ctx.capabilities().join(' ')}\r\n`);
    return ok('CAPABILITY completed');
  },
});
