import { SIGNED_IN } from '../state.ts';
import { command, no, ok } from '../context.ts';
import { statusLine } from '../status-items.ts';
import { refuseWithout } from '../acl-checks.ts';
import { resolveMailbox } from '../shared-mailboxes.ts';

/** STATUS (RFC 9051 §6.3.11): counts of any mailbox, also the selected one. */
export const status = command({
  names: ['STATUS'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const name = ctx.mailboxFromWire(cmd.mailbox);
    const user = ctx.state.kind === 'notAuthenticated' || ctx.state.kind === 'logout' ? null : ctx.state.user;
    const visible = name === null || !user ? undefined : await resolveMailbox(ctx.deps, user, name);
    if (!visible) return no('No such mailbox', 'NONEXISTENT');
    const refused = refuseWithout(visible.rights, 'r', 'STATUS');
    if (refused) return refused;
    const mailbox = visible.mailbox;
    if (cmd.items.includes('HIGHESTMODSEQ')) ctx.useCondstore();
    ctx.send(await statusLine(ctx, mailbox, cmd.items));
    return ok('STATUS completed');
  },
});
