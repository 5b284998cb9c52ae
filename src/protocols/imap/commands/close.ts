import { SELECTED } from '../state.ts';
import { command, ok } from '../context.ts';

/**
 * CLOSE (RFC 9051 §6.4.1): silently expunges \Deleted messages (unless read-only) and leaves the
 * selected state; UNSELECT (RFC 9051 §6.4.2) leaves without expunging.
 */
export const close = command({
  names: ['CLOSE', 'UNSELECT'],
  states: SELECTED,
  async run(ctx, cmd) {
    if (ctx.state.kind !== 'selected') return ok(`${cmd.name} completed`);
    const { user, mailbox } = ctx.state;
    ctx.setState({ kind: 'authenticated', user });
    // Without the e right CLOSE leaves the mailbox as it is (RFC 4314 §4).
    if (cmd.name === 'CLOSE' && !mailbox.readOnly && mailbox.rights.includes('e'))
      await ctx.deps.mail.expunge(mailbox.accountId, mailbox.id, { onlyDeleted: true });
    return ok(`${cmd.name} completed`);
  },
});
