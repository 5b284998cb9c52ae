import { ANY_STATE } from '../state.ts';
import { command, ok } from '../context.ts';

// No support-url (RFC 2971 §3.3): support for a self-hosted server is its operator, not a URL we could know.
const SERVER_ID = '("name" "Fingerpost" "vendor" "Fingerpost")';

/**
 * ID (RFC 2971): valid in any state; answers with the server's name. The client's values are
 * logged (name and version only, bounded) and never change behaviour (STANDARDS §8.2).
 */
export const id = command({
  names: ['ID'],
  states: ANY_STATE,
  async run(ctx, cmd) {
    if (cmd.params) {
      const pick = (k: string) => cmd.params?.find(([f]) => f.toLowerCase() === k)?.[1]?.slice(0, 64);
      ctx.deps.logger.debug({ client: pick('name'), version: pick('version') }, 'imap client id');
    }
    ctx.send(`* ID ${SERVER_ID}\r\n`);
    return ok('ID completed');
  },
});
