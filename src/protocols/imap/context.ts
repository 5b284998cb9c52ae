import type { AuthContext, AuthCore, AuthResult } from '../../auth/types.ts';
import type { Logger } from '../../core/log.ts';
import type { ImapMailView } from '../../mail/views.ts';
import type { MessageCache } from './message-cache.ts';
import type { Notifier } from './notify.ts';
import type { ChangeFeeds } from './change-feed.ts';
import type { EntrySnapshots } from './snapshots.ts';
import type { SortThread } from './sort-thread.ts';
import type { SessionState, StateKind } from './state.ts';
import type { EncodeOptions } from './wire/encoder.ts';
import type { Command, CommandName } from './wire/types.ts';

/** What command handlers may use; the session implements it (RFC 9051 §6). */

export interface ImapLimits {
  /** Longest command line without literals (RFC 7162 §4 asks for at least 8192). */
  readonly maxLine: number;
  /** Largest literal outside APPEND. */
  readonly maxLiteral: number;
  /** APPENDLIMIT (RFC 7889): largest message APPEND accepts. */
  readonly appendLimit: number;
  /** Commands per second a connection may sustain before it is slowed down. */
  readonly commandsPerSecond: number;
  /** Failed LOGIN/AUTHENTICATE attempts before the server says BYE. */
  readonly maxAuthFailures: number;
  /** LITERAL+ (any non-synchronizing literal) or, when false, LITERAL- (at most 4096 octets), RFC 7888. */
  readonly literalPlus: boolean;
  /** METADATA bounds (RFC 5464 §4.3): largest value, most entries per account. */
  readonly metadataMaxSize: number;
  readonly metadataMaxEntries: number;
}

export interface ImapDeps {
  readonly hostname: string;
  readonly auth: AuthCore;
  readonly mail: ImapMailView;
  readonly cache: MessageCache;
  readonly snapshots: EntrySnapshots;
  readonly changes: ChangeFeeds;
  readonly sortFields: SortThread;
  readonly logger: Logger;
  readonly limits: ImapLimits;
  readonly tlsTimeoutMs: number;
}

/** The tagged completion of a command (RFC 9051 §7.1). */
export interface Tagged {
  readonly status: 'OK' | 'NO' | 'BAD';
  readonly text: string;
  readonly code?: string;
  /** The handler already wrote its tagged line (STARTTLS answers before the handshake). */
  readonly sent?: boolean;
  /**
   * The command changed mod-sequences: with QRESYNC enabled the tagged OK carries
   * `[HIGHESTMODSEQ n]` of the view once the updates before it are sent (RFC 7162 §3.2.10, §3.1.4).
   */
  readonly changedModseq?: boolean;
}

/** The completion for a command that wrote its own tagged line. */
export const ALREADY_SENT: Tagged = { status: 'OK', text: '', sent: true };

export const ok = (text: string, code?: string): Tagged => ({ status: 'OK', text, ...(code ? { code } : {}) });
export const no = (text: string, code?: string): Tagged => ({ status: 'NO', text, ...(code ? { code } : {}) });
export const bad = (text: string, code?: string): Tagged => ({ status: 'BAD', text, ...(code ? { code } : {}) });

export interface CommandContext {
  readonly deps: ImapDeps;
  readonly state: SessionState;
  setState(next: SessionState): void;
  /** TLS protects the connection. */
  readonly secure: boolean;
  /** Listener name (`imap`, `imaps`). */
  readonly listener: string;
  readonly authContext: AuthContext;
  /** How strings are encoded for this client (UTF-8 once IMAP4rev2 is enabled). */
  readonly enc: EncodeOptions;
  /** Extensions the client turned on with ENABLE (RFC 5161), upper-case. */
  readonly enabled: ReadonlySet<string>;
  enable(capability: string): void;
  /** True once CONDSTORE is in use (ENABLE CONDSTORE/QRESYNC, SELECT (CONDSTORE), or a MODSEQ-bearing command). */
  readonly condstore: boolean;
  useCondstore(): void;
  readonly qresync: boolean;
  readonly rev2: boolean;
  /** UIDONLY is enabled (RFC 9586): UIDFETCH and VANISHED instead of FETCH and EXPUNGE. */
  readonly uidOnly: boolean;
  /** The capability list for the current state and TLS. */
  capabilities(): string[];
  send(data: string | Buffer): void;
  /** Resolves when the socket has room again (back-pressure for large FETCH answers). */
  drain(): Promise<void>;
  /** Sends a continuation request and reads the client's next raw line (AUTHENTICATE); null when the connection closed. */
  continueAndReadLine(text: string): Promise<Buffer | null>;
  /** Upgrades to TLS after the tagged OK was sent; false when the handshake failed (the connection is gone). */
  startTls(tagged: string): Promise<boolean>;
  /** True once COMPRESS=DEFLATE is active (RFC 4978). */
  readonly compressed: boolean;
  /** Sends the tagged OK uncompressed, then compresses both directions from the next byte (RFC 4978 §3). */
  startCompression(tagged: string): void;
  /** Registers the signed-in session with the auth core and enters the authenticated state. */
  signIn(result: AuthResult): void;
  /** Counts a failed authentication; past the limit the session says BYE after this command. */
  authFailed(): void;
  /** Ends the session after this command (LOGOUT). */
  logout(): void;
  /** Store name for a mailbox name from the wire (modified UTF-7 for IMAP4rev1 clients), or null when invalid. */
  mailboxFromWire(name: string): string | null;
  /** Encoded mailbox name for a response. */
  mailboxToWire(name: string): string;
  /** Reports changes to the selected mailbox (EXISTS, EXPUNGE/VANISHED, FETCH FLAGS). */
  sendUpdates(expungeAllowed: boolean): Promise<void>;
  /** Replaces the NOTIFY rules (RFC 5465 §3); null is NOTIFY NONE. */
  setNotifier(notifier: Notifier | null): void;
  /** Runs IDLE (RFC 2177) until DONE; false when the client sent something else. */
  idle(): Promise<'done' | 'bad' | 'closed'>;
}

/** The command type for the names `N` (an intersection, so shared-shape commands narrow too). */
export type CommandOf<N extends CommandName> = Command & { readonly name: N };

/** One command: its names, the states it runs in, and its handler (docs/architecture.md). */
export interface CommandSpec<N extends CommandName = CommandName> {
  readonly names: readonly N[];
  readonly states: readonly StateKind[];
  /**
   * Whether untagged EXPUNGE may follow this command: not after FETCH, STORE or SEARCH by
   * sequence number (RFC 9051 §7.5.1). Defaults to true.
   */
  readonly expungeAfter?: (cmd: CommandOf<N>) => boolean;
  run(ctx: CommandContext, cmd: CommandOf<N>): Promise<Tagged>;
}

/** Declares a command with its precise command type. */
export function command<N extends CommandName>(spec: CommandSpec<N>): CommandSpec<N> {
  return spec;
}
