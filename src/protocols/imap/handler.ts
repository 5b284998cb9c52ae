import type { ProtocolHandler } from '../../net/listener.ts';
import { ChangeFeeds } from './change-feed.ts';
import type { ImapDeps } from './context.ts';
import { ImapSession } from './session.ts';
import { EntrySnapshots } from './snapshots.ts';
import { SortThread } from './sort-thread.ts';

/** The listener-side entry point for IMAP (RFC 9051) on the STARTTLS and implicit-TLS ports. */
export function imapHandler(options: Omit<ImapDeps, 'snapshots' | 'changes' | 'sortFields'>): ProtocolHandler {
  const deps: ImapDeps = {
    ...options,
    snapshots: new EntrySnapshots(options.mail),
    changes: new ChangeFeeds(options.mail),
    sortFields: new SortThread(options.mail),
  };
  return {
    accept(conn) {
      const session = new ImapSession(conn, deps);
      session.start();
      return session;
    },
    refusal: () => '* BYE [UNAVAILABLE] Too many connections, try again later\r\n',
  };
}
