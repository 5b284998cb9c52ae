import { SIGNED_IN } from '../state.ts';
import { command, ok } from '../context.ts';

/** NAMESPACE (RFC 9051 §6.3.10): one personal namespace with `/` as the delimiter; no shared ones. */
export const namespace = command({
  names: ['NAMESPACE'],
  states: SIGNED_IN,
  async run(ctx) {
    ctx.send('* NAMESPACE (("" "/")) NIL NIL\r\n');
    return ok('NAMESPACE completed');
  },
});
