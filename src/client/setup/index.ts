import { localProblem } from '../errors.ts';
import type { AccountFile } from '../store/account.ts';
import { aercSnippet } from './aerc.ts';
import type { SnippetInput } from './common.ts';
import { mbsyncSnippet } from './mbsync.ts';
import { msmtpSnippet } from './msmtp.ts';
import { muttSnippet } from './mutt.ts';

/** Mail clients `fingerpost setup --for` writes a snippet for. */
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

/** The services each client cannot do without (one of each inner list). */
const NEEDS: Record<SetupClient, readonly (readonly ('imap' | 'pop3' | 'submission')[])[]> = {
  mutt: [['imap', 'pop3'], ['submission']],
  neomutt: [['imap', 'pop3'], ['submission']],
  aerc: [['imap'], ['submission']],
  mbsync: [['imap']],
  msmtp: [['submission']],
};

/** Throws (exit 1) when the account lacks a service the client needs: no snippet that cannot work. */
export function checkServices(client: SetupClient, account: Pick<AccountFile, 'address' | 'services'>): void {
  const missing = NEEDS[client].filter((any) => !account.services.some((s) => (any as readonly string[]).includes(s.protocol)));
  if (missing.length)
    throw localProblem(
      `${account.address} has no ${missing.map((m) => m.join(' or ')).join(' and no ')} service${account.services.length ? '' : ' (the sign-in learned no services at all)'}: a ${client} configuration would not work`,
      `check what discovery finds (fingerpost discover ${account.address}), then sign in again: fingerpost login ${account.address}`,
    );
}

/** The configuration snippet for `client`; refuses an account without the services it needs. */
export function snippet(client: SetupClient, input: SnippetInput): string {
  checkServices(client, input.account);
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
