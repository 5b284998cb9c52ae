import { SIGNED_IN } from '../state.ts';
import { command, ok } from '../context.ts';

/** Extensions a client may ENABLE (RFC 5161): CONDSTORE and QRESYNC (RFC 7162 §3.2.3), IMAP4rev2 (RFC 9051 §6.3.1), UIDONLY (RFC 9586). */
const ENABLEABLE = new Set(['CONDSTORE', 'QRESYNC', 'IMAP4REV2', 'UIDONLY']);

/** ENABLE (RFC 5161, RFC 9051 §6.3.1): answers `* ENABLED` with what it turned on; unknown names are ignored. */
export const enable = command({
  names: ['ENABLE'],
  states: SIGNED_IN,
  async run(ctx, cmd) {
    const done: string[] = [];
    for (const c of cmd.capabilities) {
      if (!ENABLEABLE.has(c) || done.includes(c)) continue;
      if (!ctx.enabled.has(c)) done.push(c === 'IMAP4REV2' ? 'IMAP4rev2' : c);
      ctx.enable(c);
    }
    ctx.send(`* ENABLED${done.map((c) => ` ${c}`).join('')}\r\n`);
    return ok('ENABLE completed');
  },
});
