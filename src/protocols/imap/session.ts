import { connectionContext } from '../../auth/connection-context.ts';
import type { AuthContext, AuthResult, EndReason, SessionRegistration } from '../../auth/types.ts';
import { type FingerpostError, isFingerpostError } from '../../core/errors.ts';
import { randomId } from '../../core/ids.ts';
import type { MailChange } from '../../mail/types.ts';
import { activities } from '../../core/activity.ts';
import type { Connection } from '../../net/connection.ts';
import type { SessionHandle } from '../../net/listener.ts';
import { upgradeTls } from '../../net/upgrade-tls.ts';
import { capabilities } from './capabilities.ts';
import { DeflateLayer } from './deflate.ts';
import { COMMANDS } from './commands/index.ts';
import type { CommandContext, ImapDeps, Tagged } from './context.ts';
import { announceKeywords, messageFlags } from './keyword-flags.ts';
import { hasInvalidMailboxName, nameFromWire } from './mailboxes.ts';
import type { SessionState } from './state.ts';
import { type EncodeOptions, mailboxName, safeText, tagged } from './wire/encoder.ts';
import { parseCommand } from './wire/parser.ts';
import { CommandReader, type Frame, type ReaderEvent } from './wire/reader.ts';
import { fetchOpen, usesSequenceNumbers } from './uid-only.ts';
import { formatSequenceSet } from './wire/sequence.ts';

/** Pause reading when this much input waits unprocessed (pipelining clients), resume below it. */
const PAUSE_AT = 1 << 20;
/** Consecutive BAD commands before the server gives up on the client. */
const MAX_BAD = 20;
/** The largest non-synchronizing literal under LITERAL- (RFC 7888 §5). */
const LITERAL_MINUS_MAX = 4096;
/** Whole command (lines and literals) size bound beyond the APPEND limit. */
const COMMAND_SLACK = 1 << 20;

/**
 * One IMAP connection (RFC 9051): reads framed commands, checks each against the session state
 * (a tagged union) in one dispatcher, runs the command's handler, reports changes to the selected
 * mailbox, and answers. Implements the `CommandContext` handlers see. Nothing a client sends
 * makes it throw: parse errors are BAD, store errors NO, unexpected errors `NO [SERVERBUG]`.
 */
export class ImapSession implements SessionHandle, CommandContext {
  readonly deps: ImapDeps;
  readonly #conn: Connection;
  readonly #reader: CommandReader;
  readonly #id = randomId('i');
  #state: SessionState = { kind: 'notAuthenticated' };
  readonly #enabled = new Set<string>();
  #condstore = false;
  #registration: SessionRegistration | undefined;
  #unwatch: (() => void) | undefined;
  #closing = false;
  #closed = false;
  #authFailures = 0;
  #bad = 0;
  #logoutRequested = false;
  #wake: (() => void) | null = null;
  #tokens: number;
  #refilledAt = Date.now();
  /** COMPRESS=DEFLATE (RFC 4978), once active. */
  #deflate: DeflateLayer | null = null;
  /** Inflated bytes since the reader last completed a command or line: the decompression-bomb bound. */
  #inflated = 0;

  constructor(conn: Connection, deps: ImapDeps) {
    this.#conn = conn;
    this.deps = deps;
    this.#tokens = deps.limits.commandsPerSecond * 2;
    this.#reader = new CommandReader({
      maxLine: deps.limits.maxLine,
      maxLiteral: deps.limits.maxLiteral,
      maxAppendLiteral: deps.limits.appendLimit,
      maxCommand: deps.limits.appendLimit + COMMAND_SLACK,
      ...(deps.limits.literalPlus ? {} : { maxNonSyncLiteral: LITERAL_MINUS_MAX }),
    });
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    this.#attach();
    this.send(`* OK [CAPABILITY ${this.capabilities().join(' ')}] Fingerpost IMAP4rev2 server ready\r\n`);
    this.#loop()
      .catch((err: Error) => {
        this.deps.logger.error({ err: err.message, session: this.#id }, 'imap session failed');
        this.#finish('* BYE [SERVERBUG] Internal error\r\n');
      })
      .finally(() => this.#cleanup());
  }

  /** The listener asks for a goodbye: idle timeout or shutdown (RFC 9051 §7.1.5). */
  close(reason: 'shutdown' | 'idle'): void {
    this.#finish(reason === 'idle' ? '* BYE Autologout; idle for too long\r\n' : '* BYE [UNAVAILABLE] Server shutting down\r\n');
  }

  /** The auth core ends the session: revoked, expired, credentials changed. */
  #end(reason: EndReason): void {
    const text: Record<EndReason, string> = {
      revoked: 'Access was revoked',
      expired: 'Access token expired',
      credentials_changed: 'Credentials changed',
      account_disabled: 'Account disabled',
      logout: 'Signed out',
      admin: 'Session ended by an administrator',
    };
    this.#finish(`* BYE ${reason === 'expired' ? '[EXPIRED] ' : ''}${text[reason]}\r\n`);
  }

  #finish(line?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#uncork();
    if (this.#deflate) {
      this.#deflate.end(line, () => this.#conn.end());
      // A peer that never reads must not keep the socket alive.
      setTimeout(() => this.#conn.destroy(), 5000).unref();
    } else this.#conn.end(line);
    this.#wakeUp();
  }

  #cleanup(): void {
    this.#unwatch?.();
    this.#registration?.unregister();
    this.#detach();
    this.#reader.discard();
    if (this.#deflate && this.#closed) this.#deflate.destroy();
    this.#state = { kind: 'logout' };
  }

  #onData = (chunk: Buffer): void => {
    if (this.#deflate) {
      this.#deflate.input(chunk);
      return;
    }
    this.#reader.push(chunk);
    if (this.#reader.buffered > PAUSE_AT) this.#conn.socket.pause();
    this.#wakeUp();
  };

  /** Inflated input (RFC 4978): bounded per command, so a small compressed input cannot become unbounded work. */
  #onInflated = (chunk: Buffer): void => {
    this.#inflated += chunk.length;
    if (this.#inflated > this.#inflateBound) {
      this.deps.logger.warn({ session: this.#id }, 'imap compressed input over the per-command bound');
      this.#finish('* BYE [TOOBIG] Compressed input too large\r\n');
      return;
    }
    this.#reader.push(chunk);
    if (this.#reader.buffered > PAUSE_AT) this.#deflate?.pause();
    this.#wakeUp();
  };

  /** The most a command can legitimately inflate to: the whole-command bound plus one command line. */
  get #inflateBound(): number {
    return this.deps.limits.appendLimit + COMMAND_SLACK + this.deps.limits.maxLine;
  }

  #inputPaused(): boolean {
    return this.#deflate ? this.#deflate.paused : this.#conn.socket.isPaused();
  }

  #resumeInput(): void {
    if (this.#deflate) this.#deflate.resume();
    else this.#conn.socket.resume();
  }

  /** The reader's next event; each one ends a unit the inflate bound counts against. */
  #readEvent(): ReaderEvent | null {
    const ev = this.#reader.next();
    if (ev) this.#inflated = 0;
    return ev;
  }

  #onClose = (): void => {
    this.#closed = true;
    this.#wakeUp();
  };

  #attach(): void {
    const s = this.#conn.socket;
    s.on('data', this.#onData);
    s.on('close', this.#onClose);
    s.on('error', () => {});
  }

  #detach(): void {
    this.#conn.socket.off('data', this.#onData);
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #uncork(): void {
    const s = this.#conn.socket;
    while (s.writableCorked) s.uncork();
    this.#deflate?.flush();
  }

  /** The next reader event; flushes output while waiting for input. */
  async #nextEvent(): Promise<ReaderEvent | null> {
    for (;;) {
      if (this.#closing || this.#closed) return null;
      const ev = this.#readEvent();
      if (ev) {
        if (this.#inputPaused() && this.#reader.buffered < PAUSE_AT / 2) this.#resumeInput();
        return ev;
      }
      if (this.#inputPaused()) this.#resumeInput();
      this.#uncork();
      await this.#sleep();
    }
  }

  async #loop(): Promise<void> {
    for (;;) {
      const ev = await this.#nextEvent();
      if (!ev) break;
      // Under COMPRESS the deflate stream gathers output; it is flushed where the socket would be uncorked.
      if (!this.#conn.socket.writableCorked && !this.#deflate) this.#conn.socket.cork();
      if (ev.kind === 'continue') {
        this.send('+ Ready for literal data\r\n');
        this.#uncork();
      } else if (ev.kind === 'error') this.#framingError(ev);
      else if (ev.kind === 'line') this.#badCommand(null, 'Unexpected continuation line');
      else await this.#command(ev.frame);
      if (this.#authFailures >= this.deps.limits.maxAuthFailures) this.#finish('* BYE Too many authentication failures\r\n');
      else if (this.#bad >= MAX_BAD) this.#finish('* BYE Too many invalid commands\r\n');
    }
    this.#uncork();
  }

  #framingError(ev: Extract<ReaderEvent, { kind: 'error' }>): void {
    if (ev.reason === 'nonsync_too_big') {
      this.#badCommand(ev.tag, 'Non-synchronizing literals are limited to 4096 octets (LITERAL-)', 'TOOBIG');
      return;
    }
    const text = ev.reason === 'line_too_long' ? 'Command line too long' : 'Literal too large';
    if (ev.command === 'APPEND' && this.#state.kind === 'notAuthenticated') {
      this.#badCommand(ev.tag, 'APPEND: Authenticate first', 'CLIENTBUG');
      return;
    }
    if ((ev.command === 'APPEND' || ev.command?.endsWith('REPLACE')) && ev.reason === 'literal_too_big' && ev.tag) {
      this.send(tagged(ev.tag, 'NO', 'Message too large', 'TOOBIG'));
      return;
    }
    this.#badCommand(ev.tag, text, 'TOOBIG');
  }

  #badCommand(tag: string | null, text: string, code = 'PARSE'): void {
    this.#bad++;
    this.send(tag ? tagged(tag, 'BAD', safeText(text), code) : `* BAD [${code}] ${safeText(text)}\r\n`);
  }

  /** Commands per second (token bucket): a flooding client is slowed down, not cut off. */
  async #throttle(): Promise<void> {
    const rate = this.deps.limits.commandsPerSecond;
    const now = Date.now();
    this.#tokens = Math.min(rate * 2, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      this.#uncork();
      await new Promise((r) => setTimeout(r, ((1 - this.#tokens) / rate) * 1000));
      this.#tokens = 1;
      this.#refilledAt = Date.now();
    }
    this.#tokens -= 1;
  }

  /** The dispatcher: parse, check the state, run, report mailbox changes, answer (RFC 9051 §5.5). */
  async #command(frame: Frame): Promise<void> {
    await this.#throttle();
    const parsed = parseCommand(frame);
    if (!parsed.ok) return this.#badCommand(parsed.tag, parsed.message);
    const cmd = parsed.command;
    const spec = COMMANDS.get(cmd.name);
    if (!spec) return this.#badCommand(cmd.tag, 'Unknown command');
    if (!spec.states.includes(this.#state.kind)) {
      const why =
        this.#state.kind === 'notAuthenticated'
          ? 'Authenticate first'
          : this.#state.kind === 'selected' || spec.states.includes('selected')
            ? 'Select a mailbox first'
            : 'Not allowed now';
      return this.#badCommand(cmd.tag, `${cmd.name}: ${why}`, 'CLIENTBUG');
    }
    if (this.uidOnly && usesSequenceNumbers(cmd))
      return this.#badCommand(cmd.tag, `${cmd.name}: message sequence numbers are not used once UIDONLY is enabled`, 'UIDREQUIRED');
    if (hasInvalidMailboxName(cmd, this.enc.utf8))
      return this.#badCommand(cmd.tag, 'The mailbox name is not valid modified UTF-7', 'CLIENTBUG');
    const condstoreBefore = this.#condstore;
    let result: Tagged;
    const done = activities.begin('imap', cmd.name, this.#conn.id);
    try {
      result = await spec.run(this, cmd as never);
    } catch (err) {
      result = this.#errorAnswer(err, cmd.name);
    } finally {
      done();
    }
    if (this.#closing && result.sent) return;
    this.#bad = result.status === 'BAD' ? this.#bad + 1 : 0;
    if (this.#state.kind === 'selected' && cmd.name !== 'LOGOUT') {
      try {
        await this.sendUpdates(spec.expungeAfter ? spec.expungeAfter(cmd as never) : true);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, session: this.#id }, 'imap update failed');
      }
      // RFC 7162 §3.1: the first CONDSTORE-enabling command in a selected mailbox (FETCH MODSEQ,
      // SEARCH MODSEQ, STORE UNCHANGEDSINCE, ENABLE …) tells the client where the mailbox stands.
      if (!condstoreBefore && this.#condstore && cmd.name !== 'SELECT' && cmd.name !== 'EXAMINE' && this.#state.kind === 'selected')
        this.send(`* OK [HIGHESTMODSEQ ${this.#state.mailbox.knownModseq}] Highest\r\n`);
    }
    if (!result.sent) this.send(tagged(cmd.tag, result.status, safeText(result.text), result.code));
    if (this.#logoutRequested) this.#finish();
  }

  #errorAnswer(err: unknown, name: string): Tagged {
    if (isFingerpostError(err)) {
      const code = {
        not_found: 'NONEXISTENT',
        already_exists: 'ALREADYEXISTS',
        invalid_argument: 'CANNOT',
        limit_exceeded: 'LIMIT',
        over_quota: 'OVERQUOTA',
        unavailable: 'UNAVAILABLE',
      }[err.code as string];
      if (code) return { status: 'NO', text: (err as FingerpostError).message, code };
    }
    this.deps.logger.error({ err: (err as Error).message, command: name, session: this.#id }, 'imap command failed');
    return { status: 'NO', text: 'Internal error', code: 'SERVERBUG' };
  }

  // ------------------------------------------------------------------ CommandContext

  get state(): SessionState {
    return this.#state;
  }

  setState(next: SessionState): void {
    this.#state = next;
  }

  get secure(): boolean {
    return this.#conn.secure;
  }

  get listener(): string {
    return this.#conn.listener.name;
  }

  get authContext(): AuthContext {
    return connectionContext(this.#conn, 'imap');
  }

  get enc(): EncodeOptions {
    return { utf8: this.#enabled.has('IMAP4REV2') };
  }

  get enabled(): ReadonlySet<string> {
    return this.#enabled;
  }

  enable(capability: string): void {
    this.#enabled.add(capability);
    if (capability === 'QRESYNC') this.#enabled.add('CONDSTORE');
    if (capability === 'CONDSTORE' || capability === 'QRESYNC') this.#condstore = true;
  }

  get condstore(): boolean {
    return this.#condstore;
  }

  useCondstore(): void {
    this.#condstore = true;
  }

  get qresync(): boolean {
    return this.#enabled.has('QRESYNC');
  }

  get rev2(): boolean {
    return this.#enabled.has('IMAP4REV2');
  }

  get uidOnly(): boolean {
    return this.#enabled.has('UIDONLY');
  }

  capabilities(): string[] {
    return capabilities({
      secure: this.#conn.secure,
      authenticated: this.#state.kind === 'authenticated' || this.#state.kind === 'selected',
      policy: this.deps.auth.policy(this.#conn.listener.name),
      appendLimit: this.deps.limits.appendLimit,
      literalPlus: this.deps.limits.literalPlus,
    });
  }

  send(data: string | Buffer): void {
    if (this.#closing) return;
    if (this.#deflate) this.#deflate.write(data);
    else this.#conn.write(data);
  }

  get compressed(): boolean {
    return this.#deflate !== null;
  }

  startCompression(taggedLine: string): void {
    this.send(taggedLine);
    this.#uncork();
    // Bytes the client sent after COMPRESS are already compressed (RFC 4978 §3).
    const rest = this.#reader.takeBuffered();
    this.#deflate = new DeflateLayer(this.#conn.socket, {
      onBytes: this.#onInflated,
      onError: () => {
        this.deps.logger.warn({ session: this.#id }, 'imap deflate stream failed');
        this.#closing = true;
        this.#conn.destroy();
        this.#wakeUp();
      },
    });
    if (rest.length) this.#deflate.input(rest);
    this.#conn.socket.resume();
  }

  async drain(): Promise<void> {
    if (this.#deflate) {
      const out = this.#deflate.output;
      if (!out.writableNeedDrain || this.#closing || this.#closed) return;
      this.#deflate.flush();
      await new Promise<void>((resolve) => {
        const done = () => {
          out.removeListener('drain', done);
          this.#conn.socket.off('close', done);
          resolve();
        };
        out.on('drain', done);
        this.#conn.socket.on('close', done);
      });
      return;
    }
    const s = this.#conn.socket;
    if (!s.writableNeedDrain || this.#closing || this.#closed) return;
    this.#uncork();
    await new Promise<void>((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
    s.cork();
  }

  async continueAndReadLine(text: string): Promise<Buffer | null> {
    this.send(`+ ${text}\r\n`);
    this.#uncork();
    this.#reader.setLineMode(true);
    try {
      for (;;) {
        const ev = await this.#nextEvent();
        if (!ev) return null;
        if (ev.kind === 'line') return ev.line;
        if (ev.kind === 'error') return Buffer.from('*');
      }
    } finally {
      this.#reader.setLineMode(false);
    }
  }

  async startTls(taggedLine: string): Promise<boolean> {
    // STARTTLS injection defence: anything pipelined after the command is dropped unread.
    const secured = await upgradeTls(
      this.#conn,
      {
        detach: () => this.#detach(),
        discard: () => this.#reader.discard(),
        attach: (socket) => {
          socket.on('data', this.#onData);
          socket.on('error', () => {});
        },
      },
      taggedLine,
      this.deps.tlsTimeoutMs,
    );
    if (!secured) {
      this.#closing = true;
      this.#wakeUp();
    }
    return secured;
  }

  signIn(result: AuthResult): void {
    const user = { auth: result, accountId: result.account.id, address: result.account.address };
    this.#state = { kind: 'authenticated', user };
    this.#conn.signedIn();
    this.#reader.allowAppend(true);
    this.#registration = this.deps.auth.register(result, this.authContext, (reason) => this.#end(reason));
    this.#unwatch = this.deps.mail.watch(user.accountId, (change) => this.#onChange(change));
  }

  #onChange(change: MailChange): void {
    const st = this.#state;
    if (st.kind !== 'selected') return;
    // Keyword changes reach every mailbox holding the message, so any Email change may matter.
    if (change.mailboxIds.includes(st.mailbox.id) || change.types.includes('Email')) {
      st.mailbox.dirty = true;
      this.#wakeUp();
    }
  }

  authFailed(): void {
    this.#authFailures++;
  }

  logout(): void {
    this.#logoutRequested = true;
  }

  mailboxFromWire(name: string): string | null {
    return nameFromWire(name, this.enc.utf8);
  }

  mailboxToWire(name: string): string {
    return mailboxName(name, this.enc);
  }

  async sendUpdates(expungeAllowed: boolean): Promise<void> {
    const st = this.#state;
    if (st.kind !== 'selected' || !st.mailbox.dirty) return;
    const box = st.mailbox;
    box.dirty = false;
    // Read the mailbox's MODSEQ before the changes: everything up to it is committed and visible.
    const mailbox = await this.deps.mail.getMailboxById(st.user.accountId, box.id);
    if (!mailbox) {
      this.#finish('* BYE The selected mailbox no longer exists\r\n');
      return;
    }
    const changes = await this.deps.mail.mailboxChanges(box.id, box.knownModseq);
    const knownUids = box.maxUid;
    const update = box.apply(changes.changed, changes.expunged, mailbox.highestModseq, expungeAllowed);
    if (!update) {
      box.dirty = true;
      return;
    }
    if (update.exists !== null && !this.rev2) {
      // IMAP4rev1 \Recent: the first session to learn of a new message owns it (RFC 3501 §2.3.2).
      if (box.readOnly) box.addRecent(Math.max(knownUids + 1, mailbox.firstRecentUid), box.maxUid + 1);
      else {
        const claimed = await this.deps.mail.claimRecent(box.id, box.maxUid + 1);
        if (claimed) box.addRecent(claimed.from, claimed.to);
      }
    }
    // Keywords new to the mailbox are announced before a FETCH can show them (RFC 9051 §7.3.5).
    await announceKeywords(
      this,
      box,
      changes.changed.map((e) => e.keywords),
    );
    let out = '';
    if (update.expunged.length) {
      if (this.qresync || this.uidOnly) out += `* VANISHED ${formatSequenceSet(update.expunged)}\r\n`;
      else for (const seq of update.expungedSeqs) out += `* ${seq} EXPUNGE\r\n`;
    }
    if (update.exists !== null) out += `* ${update.exists} EXISTS\r\n${this.rev2 ? '' : `* ${box.recent.size} RECENT\r\n`}`;
    for (const c of update.changed) {
      const uid = this.uidOnly ? '' : `UID ${c.uid} `;
      out += `${fetchOpen(this.uidOnly, c.seq, c.uid)}${uid}FLAGS ${messageFlags(box, c.seq, !this.rev2)}${this.#condstore ? ` MODSEQ (${c.modseq})` : ''})\r\n`;
    }
    if (out) this.send(out);
  }

  async idle(): Promise<'done' | 'bad' | 'closed'> {
    // Like NOOP, entering IDLE looks at the store once: it also catches changes made on other nodes.
    if (this.#state.kind === 'selected') this.#state.mailbox.dirty = true;
    this.send('+ idling\r\n');
    this.#uncork();
    this.#reader.setLineMode(true);
    try {
      for (;;) {
        if (this.#closing || this.#closed) return 'closed';
        const ev = this.#readEvent();
        if (ev) {
          if (ev.kind === 'line' && ev.line.toString('latin1').trim().toUpperCase() === 'DONE') return 'done';
          return 'bad';
        }
        if (this.#state.kind === 'selected' && this.#state.mailbox.dirty) {
          await this.sendUpdates(true);
          this.#uncork();
          continue;
        }
        if (this.#inputPaused()) this.#resumeInput();
        await this.#sleep();
      }
    } finally {
      this.#reader.setLineMode(false);
    }
  }
}
