import { aercSnippet } from './aerc.ts';
import type { SnippetInput } from './common.ts';
import { mbsyncSnippet } from './mbsync.ts';
import { msmtpSnippet } from './msmtp.ts';
import { muttSnippet } from './mutt.ts';

/** Mail clients `fingerpost setup --for` writes a snippet for (issue 9 item 5). */
export const SETUP_CLIENTS = ['mutt', 'neomutt', 'msmtp', 'mbsync', 'aerc'] as const;
export type SetupClient = (typeof SETUP_CLIENTS)[number];

/** Where each client reads its configuration, for the line printed on stderr. */
export const CONFIG_FILES: Record<SetupClient, string> = {
  mutt: '~/.muttrc (or ~/.config/mutt/muttrc)',
  neomutt: '~/.config/neomutt/neomuttrc',
  msmtp: '~/.msmtprc (or ~/.config/msmtp/config)',
  mbsync: '~/.mbsyncrc',
  aerc: '~/.config/aerc/accounts.conf',
};

/** The configuration snippet for `client`. */
export function snippet(client: SetupClient, input: SnippetInput): string {
  switch (client) {
    case 'mutt':
      return muttSnippet(input, 'mutt');
    case 'neomutt':
      return muttSnippet(input, 'neomutt');
    case 'msmtp':
      return msmtpSnippet(input);
    case 'mbsync':
      return mbsyncSnippet(input);
    case 'aerc':
      return aercSnippet(input);
  }
}
