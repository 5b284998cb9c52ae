import { ImapFlow } from 'imapflow';
import { systemFlagKeyword } from '../../mail/system-flags.ts';
import type { ImportFolder, ImportSource } from './source.ts';

export interface ImapSourceOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS (993) when true, else STARTTLS, which is required: credentials never go in clear. */
  readonly secure: boolean;
  readonly user: string;
  readonly password: string;
  /** Extra CA certificates (PEM) to trust for the source server. */
  readonly ca?: string;
  /** Certificate name to check, when it differs from `host` (an IP address). */
  readonly servername?: string;
}

/**
 * A live IMAP server to import from (RFC 9051 with imapflow): every selectable folder, with flags,
 * keywords and INTERNALDATE; resumable by UID within an unchanged UIDVALIDITY (RFC 9051 §2.3.1.1).
 */
export function imapSource(o: ImapSourceOptions): ImportSource {
  const client = new ImapFlow({
    host: o.host,
    port: o.port,
    secure: o.secure,
    doSTARTTLS: o.secure ? undefined : true,
    auth: { user: o.user, pass: o.password },
    tls: { ...(o.ca ? { ca: o.ca } : {}), ...(o.servername ? { servername: o.servername } : {}) },
    logger: false,
  });
  client.on('error', () => {});
  let connected: Promise<void> | undefined;
  const connect = () => (connected ??= client.connect());
  return {
    description: `imap:${o.user}@${o.host}:${o.port}`,
    async *folders() {
      await connect();
      const list = await client.list();
      for (const box of list) {
        if (box.flags.has('\\Noselect') || box.flags.has('\\NonExistent')) continue;
        const status = await client.status(box.path, { messages: true, uidValidity: true });
        if (!status) continue;
        const name = box.path.toUpperCase() === 'INBOX' ? 'INBOX' : box.path.split(box.delimiter || '/').join('/');
        const folder: ImportFolder = {
          name,
          count: status.messages ?? 0,
          epoch: String(status.uidValidity ?? ''),
          async *messages(after) {
            if (!status.messages) return;
            const lock = await client.getMailboxLock(box.path, { readOnly: true });
            try {
              const from = after === undefined ? 1 : Number(after) + 1;
              for await (const m of client.fetch(
                `${from}:*`,
                { uid: true, flags: true, internalDate: true, source: true },
                { uid: true },
              )) {
                if (m.uid < from || !m.source) continue;
                // System flags become store keywords; \Recent and unknown \ flags are not kept.
                const keywords = [...(m.flags ?? [])].flatMap((f) => {
                  if (!f.startsWith('\\')) return [f];
                  const k = systemFlagKeyword(f);
                  return k ? [k] : [];
                });
                const date = m.internalDate ? new Date(m.internalDate).getTime() : undefined;
                yield {
                  message: {
                    ref: `UID ${m.uid}`,
                    raw: m.source,
                    keywords,
                    ...(date !== undefined && !Number.isNaN(date) ? { receivedAt: date } : {}),
                  },
                  position: String(m.uid),
                };
              }
            } finally {
              lock.release();
            }
          },
        };
        yield folder;
      }
    },
    async close() {
      if (connected) await client.logout().catch(() => client.close());
    },
  };
}
