import { SELECTED } from '../state.ts';
import { bad, command, no, ok } from '../context.ts';

/**
 * CANCELUPDATE (RFC 5267 §4.3.5): stops the live results started by the SEARCH or SORT commands
 * with these tags; no ADDTO or REMOVEFROM for them follows the OK. A tag with no live result is BAD.
 */
export const cancelupdate = command({
  names: ['CANCELUPDATE'],
  states: SELECTED,
  async run(ctx, cmd) {
    if (ctx.state.kind !== 'selected') return no('No mailbox selected');
    const { contexts } = ctx.state.mailbox;
    const unknown = cmd.tags.find((t) => !contexts.has(t));
    if (unknown !== undefined) return bad('No updating result has that tag', 'CLIENTBUG');
    for (const t of cmd.tags) contexts.delete(t);
    return ok('CANCELUPDATE completed');
  },
});
