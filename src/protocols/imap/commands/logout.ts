import { ANY_STATE } from '../state.ts';
import { command, ok } from '../context.ts';

/** LOGOUT (RFC 9051 §6.1.3): untagged BYE, tagged OK, then the connection closes. */
export const logout = command({
  names: ['LOGOUT'],
  states: ANY_STATE,
  async run(ctx) {
    ctx.send('* BYE Logging out\r\n');
    ctx.logout();
    return ok('LOGOUT completed');
  },
});
