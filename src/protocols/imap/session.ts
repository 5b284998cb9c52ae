import { connectionContext } from '../../auth/connection-context.ts';
import type { AuthContext, AuthResult, EndReason, SessionRegistration } from '../../auth/types.ts';
import { type FingerpostError, isFingerpostError } from '../../core/errors.ts';
import { randomId } from '../../core/ids.ts';
import type { MailChange } from '../../mail/types.ts';
import { activities } from '../../core/activity.ts';
import type { Connection } from '../../net/connection.ts';
import { type CommandResult, LineInput, type LiteralLimits } from '../../net/line-input.ts';
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
import { parseCommand, peekTagAndCommand } from './wire/parser.ts';
import type { Frame } from './wire/types.ts';
import { fetchOpen, usesSequenceNumbers } from './uid-only.ts';
import { refreshContexts, removeExpunged } from './search-contexts.ts';
import { formatSequenceSet, parseSequenceSetText } from './wire/sequence.ts';
import type { Notifier } from './notify.ts';
import { entriesForReader } from './private-seen.ts';

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
  readonly #input = new LineInput({ onWait: () => this.#uncork() });
  readonly #limits: LiteralLimits;
  /** Until the client has signed in, APPEND literals get the small literal bound like every other command. */
  #appendAllowed = false;
  readonly #id = randomId('i');
  #state: SessionState = { kind: 'notAuthenticated' };
  readonly #enabled = new Set<string>();
  #condstore = false;
  #registration: SessionRegistration | undefined;
  #unwatch: (() => void) | undefined;
  #unwatchOwner: (() => void) | undefined;
  #watchedOwner: number | null = null;
  #closing = false;
  /** A command is running (not waiting in IDLE): a shutdown waits for its answer. */
  #busy = false;
  /** Shutdown was asked while a command was in flight: BYE after its answer. */
  #draining = false;
  #closed = false;
  #authFailures = 0;
  #bad = 0;
  #logoutRequested = false;
  /** Wakes IDLE for a mailbox change or the end of the session. */
  #wake: (() => void) | null = null;
  #tokens: number;
  #refilledAt = Date.now();
  /** COMPRESS=DEFLATE (RFC 4978), once active. */
  #deflate: DeflateLayer | null = null;
  /** Inflated bytes since the input last completed a command or line: the decompression-bomb bound. */
  #inflated = 0;
  /** NOTIFY rules (RFC 5465), once set. */
  #notifier: Notifier | null = null;
  /** The selected mailbox changed and NOTIFY asks for its updates without waiting for a command. */
  #pushSelected = false;
  /** A continuation was sent and the literal is still coming: no unsolicited data now. */
  #awaitingLiteral = false;

  constructor(conn: Connection, deps: ImapDeps) {
    this.#conn = conn;
    this.deps = deps;
    this.#tokens = deps.limits.commandsPerSecond * 2;
    this.#limits = {
      maxLine: deps.limits.maxLine,
      maxCommand: deps.limits.appendLimit + COMMAND_SLACK,
      ...(deps.limits.literalPlus ? {} : { maxNonSync: LITERAL_MINUS_MAX }),
      literalLimit: (first) => {
        // REPLACE carries a message like APPEND (RFC 8508 §3) and gets the same bound.
        const { command } = peekTagAndCommand(first);
        const carriesMessage = command === 'APPEND' || command === 'REPLACE' || command === 'UID REPLACE';
        return carriesMessage && this.#appendAllowed ? deps.limits.appendLimit : deps.limits.maxLiteral;
      },
    };
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

  /**
   * The listener asks for a goodbye: idle timeout or shutdown (RFC 9051 §7.1.5). A shutdown lets
   * the command being run or read finish and answer first; BYE follows its tagged response.
   */
  close(reason: 'shutdown' | 'idle'): void {
    if (reason === 'shutdown' && (this.#busy || this.#input.pending > 0)) {
      this.#draining = true;
      return;
    }
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
    // Nothing more is read: a pending read ends now, buffered commands never run.
    this.#input.discard();
    this.#input.close();
    this.#wakeUp();
  }

  #cleanup(): void {
    this.#unwatch?.();
    this.#unwatchOwner?.();
    this.#registration?.unregister();
    this.#input.detach();
    this.#input.discard();
    if (this.#deflate && this.#closed) this.#deflate.destroy();
    this.#state = { kind: 'logout' };
  }

  /** Inflated input (RFC 4978): bounded per command, so a small compressed input cannot become unbounded work. */
  #onInflated = (chunk: Buffer): void => {
    this.#inflated += chunk.length;
    if (this.#inflated > this.#inflateBound) {
      this.deps.logger.warn({ session: this.#id }, 'imap compressed input over the per-command bound');
      this.#finish('* BYE [TOOBIG] Compressed input too large\r\n');
    }
  };

  /** The most a command can legitimately inflate to: the whole-command bound plus one command line. */
  get #inflateBound(): number {
    return this.deps.limits.appendLimit + COMMAND_SLACK + this.deps.limits.maxLine;
  }

  /** The next command with its literals; each one ends a unit the inflate bound counts against. */
  async #readCommand(): Promise<CommandResult> {
    const r = await this.#input.command(this.#limits, () => {
      this.#awaitingLiteral = true;
      this.send('+ Ready for literal data\r\n');
      this.#uncork();
    });
    this.#inflated = 0;
    return r;
  }

  /** A raw line (an AUTHENTICATE response, IDLE's DONE), bounded like a command line. */
  async #readLine(): Promise<Awaited<ReturnType<LineInput['rawLine']>>> {
    const r = await this.#input.rawLine(this.deps.limits.maxLine + 2);
    this.#inflated = 0;
    return r;
  }

  #onClose = (): void => {
    this.#closed = true;
    this.#wakeUp();
  };

  #attach(): void {
    const s = this.#conn.socket;
    this.#input.attach(s);
    s.on('close', this.#onClose);
    s.on('error', () => {});
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

  /**
   * The next command. While none is half read, NOTIFY events go out as they happen (RFC 5465 §3):
   * the pending read stays the same one, woken by mailbox changes.
   */
  async #nextCommand(): Promise<CommandResult> {
    const next = this.#readCommand();
    for (;;) {
      if (this.#notifyDue() && !this.#awaitingLiteral && this.#input.pending === 0 && !this.#closing && !this.#closed) {
        await this.#notifyNow();
        continue;
      }
      if (!this.#notifier || this.#closing || this.#closed) return next;
      const r = await Promise.race([next, this.#sleep().then(() => null)]);
      if (r !== null) return r;
    }
  }

  async #loop(): Promise<void> {
    for (;;) {
      if (this.#closing || this.#closed) break;
      const ev = await this.#nextCommand();
      this.#awaitingLiteral = false;
      if (ev.kind === 'closed' || this.#closing || this.#closed) break;
      // Under COMPRESS the deflate stream gathers output; it is flushed where the socket would be uncorked.
      if (!this.#conn.socket.writableCorked && !this.#deflate) this.#conn.socket.cork();
      this.#busy = true;
      if (ev.kind === 'error') this.#framingError(ev);
      else await this.#command(ev);
      this.#busy = false;
      if (this.#draining) this.#finish('* BYE [UNAVAILABLE] Server shutting down\r\n');
      if (this.#authFailures >= this.deps.limits.maxAuthFailures) this.#finish('* BYE Too many authentication failures\r\n');
      else if (this.#bad >= MAX_BAD) this.#finish('* BYE Too many invalid commands\r\n');
    }
    this.#uncork();
  }

  #framingError(ev: Extract<CommandResult, { kind: 'error' }>): void {
    const { tag, command } = peekTagAndCommand(ev.first);
    if (ev.reason === 'nonsync_too_big') {
      this.#badCommand(tag, 'Non-synchronizing literals are limited to 4096 octets (LITERAL-)', 'TOOBIG');
      return;
    }
    const text = ev.reason === 'line_too_long' ? 'Command line too long' : 'Literal too large';
    if (command === 'APPEND' && this.#state.kind === 'notAuthenticated') {
      this.#badCommand(tag, 'APPEND: Authenticate first', 'CLIENTBUG');
      return;
    }
    if ((command === 'APPEND' || command?.endsWith('REPLACE')) && ev.reason === 'literal_too_big' && tag) {
      this.send(tagged(tag, 'NO', 'Message too large', 'TOOBIG'));
      return;
    }
    this.#badCommand(tag, text, 'TOOBIG');
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
        if (this.#notifier?.pending) await this.#deliverNotifications();
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, session: this.#id }, 'imap update failed');
      }
      // RFC 7162 §3.1: the first CONDSTORE-enabling command in a selected mailbox (FETCH MODSEQ,
      // SEARCH MODSEQ, STORE UNCHANGEDSINCE, ENABLE …) tells the client where the mailbox stands.
      if (!condstoreBefore && this.#condstore && cmd.name !== 'SELECT' && cmd.name !== 'EXAMINE' && this.#state.kind === 'selected')
        this.send(`* OK [HIGHESTMODSEQ ${this.#state.mailbox.knownModseq}] Highest\r\n`);
    }
    // RFC 7162 §3.2.10: with QRESYNC, the OK of a command that changed mod-sequences names where the
    // view now stands (every change up to it has been sent above).
    if (result.changedModseq && this.qresync && this.#state.kind === 'selected' && !result.code)
      result = { ...result, code: `HIGHESTMODSEQ ${this.#state.mailbox.knownModseq}` };
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
    // A shared mailbox's changes are announced on its owner's account (RFC 4314): watch it while selected.
    const owner = next.kind === 'selected' && next.mailbox.accountId !== next.user.accountId ? next.mailbox.accountId : null;
    if (owner === this.#watchedOwner) return;
    this.#unwatchOwner?.();
    this.#unwatchOwner = owner === null ? undefined : this.deps.mail.watch(owner, (change) => this.#onChange(change));
    this.#watchedOwner = owner;
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
    this.#input.detach();
    const rest = this.#input.takeBuffered();
    this.#deflate = new DeflateLayer(this.#conn.socket, {
      onError: () => {
        this.deps.logger.warn({ session: this.#id }, 'imap deflate stream failed');
        this.#closing = true;
        this.#conn.destroy();
        this.#wakeUp();
      },
    });
    this.#deflate.inflated.on('data', this.#onInflated);
    this.#input.attach(this.#deflate.inflated);
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
    const r = await this.#readLine();
    if (r.kind === 'closed' || this.#closing || this.#closed) return null;
    // An over-long response cancels the exchange (RFC 9051 §6.2.2).
    return r.kind === 'line' ? Buffer.from(r.bytes) : Buffer.from('*');
  }

  async startTls(taggedLine: string): Promise<boolean> {
    // STARTTLS injection defence: anything pipelined after the command is dropped unread.
    const secured = await upgradeTls(
      this.#conn,
      {
        detach: () => this.#input.detach(),
        discard: () => this.#input.discard(),
        attach: (socket) => {
          this.#input.attach(socket);
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
    this.#appendAllowed = true;
    this.#registration = this.deps.auth.register(result, this.authContext, (reason) => this.#end(reason));
    this.#unwatch = this.deps.mail.watch(user.accountId, (change) => this.#onChange(change));
  }

  #onChange(change: MailChange): void {
    const st = this.#state;
    if (this.#notifier) {
      this.#notifier.pending = true;
      this.#wakeUp();
    }
    if (st.kind !== 'selected') return;
    // Keyword changes reach every mailbox holding the message, so any Email change may matter.
    // A shared mailbox's rights change as a Mailbox change of its owner.
    const shared = st.mailbox.accountId !== st.user.accountId;
    if (change.mailboxIds.includes(st.mailbox.id) || change.types.includes('Email') || (shared && change.types.includes('Mailbox'))) {
      st.mailbox.dirty = true;
      if (this.#notifier?.selected) this.#pushSelected = true;
      this.#wakeUp();
    }
  }

  setNotifier(notifier: Notifier | null): void {
    this.#notifier = notifier;
    this.#pushSelected = false;
  }

  #notifyDue(): boolean {
    return this.#notifier !== null && (this.#notifier.pending || this.#pushSelected);
  }

  /**
   * NOTIFY deliveries while no command runs (RFC 5465 §3): the selected mailbox's updates (with
   * SELECTED at once, with SELECTED-DELAYED expunges wait for a command that allows them, RFC 5465
   * §6), MessageNew's fetch attributes for new messages, then the other mailboxes' events.
   */
  async #notifyNow(): Promise<void> {
    const st = this.#state;
    const rule = this.#notifier?.selected;
    try {
      if (this.#pushSelected && st.kind === 'selected' && rule) {
        this.#pushSelected = false;
        const known = st.mailbox.maxUid;
        await this.sendUpdates(rule.kind === 'SELECTED');
        if (rule.fetch && st.mailbox.maxUid > known) {
          const fetch = COMMANDS.get('FETCH')!;
          const set = parseSequenceSetText(`${known + 1}:*`);
          await fetch.run(this, {
            name: 'FETCH',
            tag: '*',
            uid: true,
            set,
            items: rule.fetch,
            changedSince: null,
            vanished: false,
            partial: null,
          } as never);
        }
      }
      this.#pushSelected = false;
      if (this.#notifier?.pending) await this.#deliverNotifications();
    } catch (err) {
      // Dropped, not retried: a failing delivery must not spin the loop that waits for commands.
      if (this.#notifier) this.#notifier.pending = false;
      this.deps.logger.warn({ err: (err as Error).message, session: this.#id }, 'imap notify failed');
    }
    this.#uncork();
  }

  /** Other mailboxes' events, subscriptions and names (RFC 5465 §5). */
  async #deliverNotifications(): Promise<void> {
    const user = this.#state.kind === 'authenticated' || this.#state.kind === 'selected' ? this.#state.user : null;
    if (!this.#notifier || !user) return;
    const out = await this.#notifier.deliver(this, user.accountId);
    if (out) this.send(out);
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
    const mailbox = await this.deps.mail.getMailboxById(box.accountId, box.id);
    if (!mailbox) {
      this.#finish('* BYE The selected mailbox no longer exists\r\n');
      return;
    }
    if (box.accountId !== st.user.accountId) {
      box.rights = await this.deps.mail.sharing.rightsOf(st.user.accountId, mailbox);
      if (!box.rights.includes('r')) {
        this.#finish('* BYE The right to read the selected mailbox was taken away\r\n');
        return;
      }
    }
    // One query per mailbox per new HIGHESTMODSEQ, shared by its selected sessions (change-feed.ts).
    const feed = await this.deps.changes.changes(mailbox, box.knownModseq, mailbox.highestModseq);
    const changes = { ...feed, changed: await entriesForReader(this.deps.mail, box.reader, feed.changed) };
    const knownUids = box.maxUid;
    // Live results lose expunged messages before the EXPUNGE responses renumber them (RFC 5267 §4.3.4).
    const leaving = changes.expunged.filter((uid) => box.seqOf(uid) > 0);
    const removals = leaving.length && !expungeAllowed ? '' : removeExpunged(box, leaving);
    const recentBefore = box.recent.size;
    const update = box.apply(changes.changed, changes.expunged, mailbox.highestModseq, expungeAllowed);
    if (!update) {
      box.dirty = true;
      return;
    }
    if (update.exists !== null && !this.rev2) {
      // IMAP4rev1 \Recent: the first session to learn of a new message owns it (RFC 3501 §2.3.2).
      if (box.readOnly) box.addRecent(Math.max(knownUids + 1, mailbox.firstRecentUid), box.maxUid + 1);
      else if (mailbox.firstRecentUid <= box.maxUid) {
        // The row was read after these arrivals committed and the mark only grows: at or past them, another session owns them.
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
    let out = removals;
    if (update.expunged.length) {
      if (this.qresync || this.uidOnly) out += `* VANISHED ${formatSequenceSet(update.expunged)}\r\n`;
      else for (const seq of update.expungedSeqs) out += `* ${seq} EXPUNGE\r\n`;
    }
    // RECENT after every EXISTS, and after expunges that took \Recent messages (RFC 3501 §7.3.2).
    const recentMoved = update.exists === null && box.recent.size !== recentBefore;
    if (update.exists !== null || recentMoved) {
      if (update.exists !== null) out += `* ${update.exists} EXISTS\r\n`;
      if (!this.rev2) out += `* ${box.recent.size} RECENT\r\n`;
    }
    for (const c of update.changed) {
      const uid = this.uidOnly ? '' : `UID ${c.uid} `;
      out += `${fetchOpen(this.uidOnly, c.seq, c.uid)}${uid}FLAGS ${messageFlags(box, c.seq, !this.rev2)}${this.#condstore ? ` MODSEQ (${c.modseq})` : ''})\r\n`;
    }
    if (box.contexts.size) out += await refreshContexts(this.deps, box.accountId, box);
    if (out) this.send(out);
  }

  async idle(): Promise<'done' | 'bad' | 'closed'> {
    // Like NOOP, entering IDLE looks at the store once: it also catches changes made on other nodes.
    if (this.#state.kind === 'selected') this.#state.mailbox.dirty = true;
    this.send('+ idling\r\n');
    this.#uncork();
    // An idling client is between commands: a shutdown says BYE at once.
    this.#busy = false;
    if (this.#draining) this.#finish('* BYE [UNAVAILABLE] Server shutting down\r\n');
    // One read stays pending for the whole IDLE; mailbox changes and the end of the session wake the loop.
    const line = this.#readLine();
    for (;;) {
      if (this.#closing || this.#closed) return 'closed';
      if (this.#state.kind === 'selected' && this.#state.mailbox.dirty) {
        await this.sendUpdates(true);
        this.#uncork();
        continue;
      }
      if (this.#notifier?.pending) {
        await this.#notifyNow();
        continue;
      }
      const r = await Promise.race([line, this.#sleep().then(() => null)]);
      if (r === null) continue;
      if (r.kind === 'closed') return 'closed';
      return r.kind === 'line' && r.bytes.toString('latin1').trim().toUpperCase() === 'DONE' ? 'done' : 'bad';
    }
  }
}
