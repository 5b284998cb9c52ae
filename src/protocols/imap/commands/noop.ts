import { ANY_STATE } from '../state.ts';
import { command, ok } from '../context.ts';

/**
 * NOOP (RFC 9051 §6.1.2) and the IMAP4rev1 CHECK (RFC 3501 §6.4.1): nothing, but the selected
 * mailbox's pending updates go out with the answer (the dispatcher sends them).
 */
export const noop = command({
  names: ['NOOP', 'CHECK'],
  states: ANY_STATE,
  async run(ctx, cmd) {
    if (ctx.state.kind === 'selected') ctx.state.mailbox.dirty = true;
    return ok(`${cmd.name} completed`);
  },
});
