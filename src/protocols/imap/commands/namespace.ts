import { SIGNED_IN } from '../state.ts';
import { command, ok } from '../context.ts';
import { NAMESPACE_RESPONSE } from '../shared-mailboxes.ts';

/** NAMESPACE (RFC 9051 §6.3.10, RFC 2342): the personal namespace and Other Users, `/` in both. */
export const namespace = command({
  names: ['NAMESPACE'],
  states: SIGNED_IN,
  async run(ctx) {
    ctx.send(NAMESPACE_RESPONSE);
    return ok('NAMESPACE completed');
  },
});
