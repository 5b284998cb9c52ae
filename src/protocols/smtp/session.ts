import { connectionContext } from '../../auth/connection-context.ts';
import { SaslExchange } from '../../auth/sasl/exchange.ts';
import type { AuthContext, AuthCore, AuthResult, EndReason, SessionRegistration } from '../../auth/types.ts';
import { activities } from '../../core/activity.ts';
import { systemClock, type WaitClock } from '../../core/clock.ts';
import { randomId } from '../../core/ids.ts';
import type { Logger } from '../../core/log.ts';
import type { Connection } from '../../net/connection.ts';
import { driveSasl } from '../../net/drive-sasl.ts';
import { upgradeTls } from '../../net/upgrade-tls.ts';
import type { SessionHandle } from '../../net/listener.ts';
import { parseCommand, type Params, type SmtpCommand } from './command.ts';
import { type FailureCounter, HarvestGuard } from './harvest-guard.ts';
import { type BodySink, LineInput } from '../../net/line-input.ts';
import type { MemoryBudget } from './memory-budget.ts';
import { receivedHeader } from './received.ts';
import { formatReply, REPLIES, type Reply, reply } from './reply.ts';
import type { SpoolDir, SpoolFile } from './spool.ts';
import { completeSubmission } from './submission-headers.ts';
import type { MailEnvelope, Recipient, SessionView, TransactionHandler } from './transaction.ts';

/** What every SMTP session of one listener shares. */
export interface SmtpOptions {
  readonly hostname: string;
  readonly auth: AuthCore;
  readonly transactions: TransactionHandler;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  /** Where bodies go while they arrive (DATA/BDAT are never held whole in memory). */
  readonly spool: SpoolDir;
  /** Bytes of bodies the node's sessions may load into memory at once for delivery. */
  readonly memory: MemoryBudget;
  readonly tlsTimeoutMs: number;
  /** Bad commands tolerated before `421` (RFC 5321 §4.1.4 lets a server end abusive sessions). */
  readonly maxErrors?: number;
  /** RCPT TO for unknown local addresses answered `550` per connection; the next gets `421`. */
  readonly maxUnknownRecipients?: number;
  /** Pause before each `550` for an unknown recipient. */
  readonly unknownRecipientDelayMs?: number;
  /** The shared failure limits: unknown recipients count as failures, a banned client gets `421`. */
  readonly failures?: FailureCounter;
  readonly metrics?: SmtpSessionMetrics;
  readonly clock?: WaitClock;
}

/** Counters an SMTP session feeds (src/protocols/smtp/metrics.ts). */
export interface SmtpSessionMetrics {
  unknownRecipient(listener: string): void;
  limitReached(listener: string, limit: 'unknown_recipients' | 'client_banned'): void;
  /** A delivery waited for room in `smtp.delivery_memory`. */
  deliveryWaited(listener: string): void;
}

/** RFC 5321 §4.5.3.1.4: 512 octets per command line including CRLF. */
const MAX_COMMAND_LINE = 510;
/** RFC 4954 §4: AUTH lines and SASL responses may be as long as the mechanism needs (12288 suggested; JWTs can be larger). */
const MAX_AUTH_LINE = 64 * 1024;

interface Transaction {
  sender: string;
  smtputf8: boolean;
  recipients: Recipient[];
  /** Set by the first BDAT (RFC 3030): DATA may no longer follow. */
  chunked: boolean;
  /** The body as it arrives (DATA, or the BDAT chunks so far); undefined until then. */
  spool?: SpoolFile;
  /** The spool could not be written (disk full…): the message is refused with 452 at its end. */
  spoolFailed: boolean;
  chunkBytes: number;
  tooBig: boolean;
}

/** The client's EHLO or HELO. */
interface Helo {
  readonly domain: string;
  readonly esmtp: boolean;
}

/**
 * Where a session stands (RFC 5321 §4.1.4, §3.3): before EHLO/HELO (at the start and after
 * STARTTLS, RFC 3207 §4.2), ready for MAIL, or in a mail transaction. Authentication is kept apart:
 * it holds across these states.
 */
type SmtpState =
  | { readonly kind: 'greeting' }
  | { readonly kind: 'ready'; readonly helo: Helo }
  | { readonly kind: 'transaction'; readonly helo: Helo; readonly tx: Transaction };

const ASCII = /^[\x00-\x7f]*$/;

/**
 * One ESMTP session (RFC 5321) with STARTTLS (RFC 3207), AUTH (RFC 4954), PIPELINING (RFC 2920),
 * SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), ENHANCEDSTATUSCODES (RFC 2034) and
 * CHUNKING (RFC 3030). Policy (who may send where) and delivery are the `TransactionHandler`'s.
 */
export class SmtpSession implements SessionHandle {
  readonly #conn: Connection;
  readonly #opts: SmtpOptions;
  readonly #input = new LineInput();
  readonly #id = randomId('s').slice(0, 17);
  #state: SmtpState = { kind: 'greeting' };
  #auth: AuthResult | undefined;
  #registration: SessionRegistration | undefined;
  #errors = 0;
  #closing = false;
  /** A command is running: a shutdown waits for its reply. */
  #busy = false;
  /** Shutdown was asked mid-command or mid-transaction: 421 at the next boundary. */
  #draining = false;
  readonly #harvest: HarvestGuard;
  /** Messages accepted so far: each gets its own trace id (`<session>.<n>`). */
  #messages = 0;

  constructor(conn: Connection, opts: SmtpOptions) {
    this.#conn = conn;
    this.#opts = opts;
    this.#harvest = new HarvestGuard({
      maxUnknown: opts.maxUnknownRecipients ?? 20,
      delayMs: opts.unknownRecipientDelayMs ?? 0,
      clock: opts.clock ?? systemClock,
      ...(opts.failures ? { failures: opts.failures } : {}),
      onUnknown: () => opts.metrics?.unknownRecipient(conn.listener.name),
    });
  }

  get #protocol(): 'smtp' | 'submission' {
    return this.#conn.listener.protocol === 'submission' ? 'submission' : 'smtp';
  }

  #view(): SessionView {
    return {
      id: this.#id,
      listener: this.#conn.listener.name,
      protocol: this.#protocol,
      remoteAddress: this.#conn.remoteAddress,
      helo: this.#helo?.domain ?? '',
      tls: this.#conn.secure,
      auth: this.#auth,
    };
  }

  #authContext(): AuthContext {
    return connectionContext(this.#conn, this.#protocol);
  }

  /** Starts the session: greeting, then commands until QUIT or the connection ends. */
  start(): void {
    this.#input.attach(this.#conn.socket);
    this.#run()
      .catch((err: Error) => {
        this.#opts.logger.error({ err: err.message, session: this.#id }, 'smtp session failed');
        this.#finish(reply(421, '4.3.0', 'Internal error, closing connection'));
      })
      .finally(() => this.#cleanup());
  }

  /**
   * Idle timeout or shutdown (RFC 5321 §3.8). A shutdown lets the command in flight and an open
   * mail transaction finish (its DATA answered), then says 421 at the next command boundary.
   */
  close(reason: 'shutdown' | 'idle'): void {
    if (reason === 'shutdown' && (this.#busy || this.#state.kind === 'transaction' || this.#input.pending > 0)) {
      this.#draining = true;
      return;
    }
    if (reason === 'idle') this.#finish(reply(421, '4.4.2', `${this.#opts.hostname} Timeout, closing connection`));
    else this.#finish(reply(421, '4.3.2', `${this.#opts.hostname} Service shutting down`));
  }

  /** Called by the auth core when the credential behind this session stops being valid. */
  #end(reason: EndReason): void {
    this.#finish(reply(421, '4.7.0', `Session ended (${reason.replace(/_/g, ' ')})`));
  }

  #finish(last?: Reply): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#input.close();
    this.#conn.end(last ? formatReply(last) : undefined);
  }

  #cleanup(): void {
    this.#registration?.unregister();
    this.#registration = undefined;
    this.#input.detach();
    this.#dropTransaction();
  }

  /** Ends the transaction (RSET, EHLO, STARTTLS, end of session), removing its spooled body. */
  #dropTransaction(): void {
    const state = this.#state;
    if (state.kind !== 'transaction') return;
    void state.tx.spool?.discard();
    this.#state = { kind: 'ready', helo: state.helo };
  }

  get #helo(): Helo | undefined {
    return this.#state.kind === 'greeting' ? undefined : this.#state.helo;
  }

  get #tx(): Transaction | undefined {
    return this.#state.kind === 'transaction' ? this.#state.tx : undefined;
  }

  #send(r: Reply): void {
    if (this.#closing) return;
    this.#conn.write(formatReply(r));
  }

  async #run(): Promise<void> {
    this.#send(reply(220, undefined, `${this.#opts.hostname} ESMTP Fingerpost`));
    const maxErrors = this.#opts.maxErrors ?? 10;
    while (!this.#closing) {
      // Replies to pipelined commands go out together (RFC 2920 §3.2): cork while input is queued.
      const socket = this.#conn.socket;
      if (this.#input.pending > 0) socket.cork();
      else while (socket.writableCorked) socket.uncork();
      const line = await this.#input.line(MAX_AUTH_LINE);
      if (line.kind === 'closed') break;
      let r: Reply | undefined;
      if (line.kind === 'too_long') r = REPLIES.lineTooLong;
      else {
        const isAuth = /^auth /i.test(line.text);
        if (!isAuth && Buffer.byteLength(line.text) > MAX_COMMAND_LINE) r = REPLIES.lineTooLong;
        else {
          const cmd = parseCommand(line.text);
          const done = activities.begin(this.#protocol, cmd.verb, this.#id);
          this.#busy = true;
          try {
            r = await this.#dispatch(cmd);
          } finally {
            this.#busy = false;
            done();
          }
        }
      }
      if (r) {
        if (r.code >= 500 && r.code !== 550 && r.code !== 552 && r.code !== 553 && r.code !== 554) this.#errors++;
        this.#send(r);
      }
      if (this.#errors >= maxErrors && !this.#closing) this.#finish(REPLIES.tooManyErrors);
      if (this.#draining && this.#state.kind !== 'transaction' && !this.#closing)
        this.#finish(reply(421, '4.3.2', `${this.#opts.hostname} Service shutting down`));
    }
    const socket = this.#conn.socket;
    while (socket.writableCorked) socket.uncork();
  }

  /** Runs one command; returns the reply to send (undefined when the command already replied). */
  async #dispatch(cmd: SmtpCommand): Promise<Reply | undefined> {
    switch (cmd.verb) {
      case 'invalid':
        return cmd.reply;
      case 'EHLO':
      case 'HELO':
        this.#dropTransaction();
        this.#state = { kind: 'ready', helo: { domain: cmd.domain, esmtp: cmd.verb === 'EHLO' } };
        return cmd.verb === 'EHLO' ? this.#ehloReply() : reply(250, undefined, this.#opts.hostname);
      case 'NOOP':
        return REPLIES.ok;
      case 'RSET':
        this.#dropTransaction();
        return REPLIES.ok;
      case 'QUIT':
        this.#finish(reply(221, '2.0.0', `${this.#opts.hostname} closing connection`));
        return undefined;
      case 'HELP':
        return reply(214, '2.0.0', 'See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT STARTTLS AUTH');
      case 'VRFY':
        return reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery');
      case 'EXPN':
        return reply(502, '5.5.1', 'EXPN is not supported');
      case 'STARTTLS':
        return this.#startTls();
      case 'AUTH':
        return this.#authenticate(cmd.mechanism, cmd.initial);
      case 'MAIL':
        return this.#mail(cmd.address, cmd.params);
      case 'RCPT':
        return this.#rcpt(cmd.address, cmd.params);
      case 'DATA':
        return this.#data();
      case 'BDAT':
        return this.#bdat(cmd.size, cmd.last);
    }
  }

  #mechanisms(): readonly string[] {
    return this.#opts.auth.policy(this.#conn.listener.name).mechanisms(this.#conn.secure);
  }

  /** Must TLS be up before mail is accepted here? Submission: yes (RFC 8314 §3); MX: opportunistic. */
  #tlsRequired(): boolean {
    return this.#protocol === 'submission' && !this.#conn.secure;
  }

  #ehloReply(): Reply {
    const lines = [`${this.#opts.hostname} greets ${this.#helo?.domain ?? ''}`.slice(0, 200)];
    lines.push('PIPELINING', `SIZE ${this.#opts.maxMessageBytes}`, '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING');
    if (!this.#conn.secure) lines.push('STARTTLS');
    const mechs = this.#auth ? [] : this.#mechanisms();
    if (mechs.length) lines.push(`AUTH ${mechs.join(' ')}`);
    return reply(250, undefined, lines);
  }

  async #startTls(): Promise<Reply | undefined> {
    if (this.#conn.secure) return reply(503, '5.5.1', 'TLS is already active');
    // RFC 3207 §4.2: nothing pipelined after STARTTLS in cleartext is executed.
    const secured = await upgradeTls(
      this.#conn,
      this.#input,
      formatReply(reply(220, '2.0.0', 'Ready to start TLS')),
      this.#opts.tlsTimeoutMs,
    );
    if (!secured) {
      this.#closing = true;
      this.#input.close();
      return undefined;
    }
    // RFC 3207 §4.2: all knowledge from before the handshake is discarded.
    this.#dropTransaction();
    this.#state = { kind: 'greeting' };
    return undefined;
  }

  async #authenticate(mechanism: string, initial: string | undefined): Promise<Reply | undefined> {
    if (!this.#helo?.esmtp) return REPLIES.badSequence('Send EHLO first');
    if (this.#auth) return REPLIES.badSequence('Already authenticated');
    if (this.#tx) return REPLIES.badSequence('AUTH is not permitted during a mail transaction');
    const offered = this.#mechanisms();
    if (!offered.length) return this.#conn.secure ? reply(503, '5.5.1', 'Authentication is not offered here') : REPLIES.tlsRequired;
    const end = await driveSasl(new SaslExchange(mechanism, offered), initial, {
      challenge: async (text) => {
        this.#send(reply(334, undefined, text));
        const socket = this.#conn.socket;
        while (socket.writableCorked) socket.uncork();
        return this.#input.line(MAX_AUTH_LINE);
      },
      authenticate: (credentials) => this.#opts.auth.authenticate(credentials, this.#authContext()),
    });
    switch (end.kind) {
      case 'closed':
        return undefined;
      case 'too_long':
        return reply(500, '5.5.6', 'Authentication exchange line is too long');
      case 'failed':
      case 'rejected':
        return this.#saslFailure(end.reason);
    }
    const outcome = end.verdict;
    if (outcome.ok) {
      this.#auth = outcome;
      this.#conn.signedIn();
      this.#registration = this.#opts.auth.register(outcome, this.#authContext(), (reason) => this.#end(reason));
      return reply(235, '2.7.0', 'Authentication successful');
    }
    if (outcome.code === 'temporary') return reply(454, '4.7.0', 'Temporary authentication failure');
    if (outcome.code === 'rate_limited') return reply(454, '4.7.0', 'Too many failed attempts, try again later');
    if (outcome.code === 'policy') return reply(534, '5.7.9', outcome.publicReason);
    if (outcome.code === 'authorization_failed') return reply(535, '5.7.8', 'Authentication credentials invalid or not permitted');
    return reply(535, '5.7.8', 'Authentication credentials invalid');
  }

  #saslFailure(reason: string): Reply {
    switch (reason) {
      case 'unsupported_mechanism':
        return reply(504, '5.5.4', 'Unrecognized authentication mechanism');
      case 'cancelled':
        return reply(501, '5.0.0', 'Authentication cancelled');
      case 'invalid_base64':
        return reply(501, '5.5.2', 'Cannot decode response');
      default:
        return reply(535, '5.7.8', 'Authentication credentials invalid');
    }
  }

  async #mail(address: string, params: Params): Promise<Reply> {
    const helo = this.#helo;
    if (!helo) return REPLIES.badSequence('Send EHLO first');
    if (this.#tx) return REPLIES.badSequence('Nested MAIL command');
    if (this.#tlsRequired()) return REPLIES.tlsRequired;
    let size: number | undefined;
    let smtputf8 = false;
    for (const [key, value] of params) {
      if (!helo.esmtp) return reply(555, '5.5.4', 'Parameters need EHLO');
      if (key === 'SIZE') {
        if (value === true || !/^\d{1,15}$/.test(value)) return reply(501, '5.5.4', 'Bad SIZE parameter');
        size = Number(value);
        if (size > this.#opts.maxMessageBytes) return reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');
      } else if (key === 'BODY') {
        if (value === true || !/^(7BIT|8BITMIME)$/i.test(value)) return reply(555, '5.5.4', 'Unsupported BODY type');
      } else if (key === 'SMTPUTF8') {
        if (value !== true) return reply(501, '5.5.4', 'SMTPUTF8 takes no value');
        smtputf8 = true;
      } else if (key === 'AUTH') {
        // RFC 4954 §5: the AUTH= parameter is optional for the server to honour; it is ignored.
      } else return reply(555, '5.5.4', `Unsupported parameter ${key}`);
    }
    if (!smtputf8 && !ASCII.test(address)) return reply(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8');
    const refusal = await this.#opts.transactions.mailFrom(this.#view(), address, size);
    if (refusal) return refusal;
    const tx: Transaction = { sender: address, smtputf8, recipients: [], chunked: false, spoolFailed: false, chunkBytes: 0, tooBig: false };
    this.#state = { kind: 'transaction', helo, tx };
    return reply(250, '2.1.0', 'Sender ok');
  }

  async #rcpt(address: string, params: Params): Promise<Reply | undefined> {
    const tx = this.#tx;
    if (!tx) return REPLIES.badSequence('Need MAIL command first');
    if (params.size) return reply(555, '5.5.4', `Unsupported parameter ${[...params.keys()][0]}`);
    if (!tx.smtputf8 && !ASCII.test(address)) return reply(553, '5.6.7', 'Non-ASCII address requires SMTPUTF8');
    if (tx.recipients.length >= this.#opts.maxRecipients) return reply(452, '4.5.3', 'Too many recipients');
    if (!this.#auth && !this.#harvest.allowed(this.#conn.remoteAddress)) {
      this.#opts.metrics?.limitReached(this.#conn.listener.name, 'client_banned');
      this.#finish(reply(421, '4.7.0', 'Too many failures from your address, try again later'));
      return undefined;
    }
    const result = await this.#opts.transactions.rcptTo(this.#view(), this.#envelope(tx), address);
    if ('reply' in result) {
      // Signed-in users are not harvesting: their typos are answered at once.
      if (!result.unknown || this.#auth) return result.reply;
      if ((await this.#harvest.unknownRecipient(this.#conn.remoteAddress)) === 'close') {
        this.#opts.metrics?.limitReached(this.#conn.listener.name, 'unknown_recipients');
        this.#finish(reply(421, '4.7.0', 'Too many unknown recipients, closing connection'));
        return undefined;
      }
      return result.reply;
    }
    const lower = result.recipient.address.toLowerCase();
    if (!tx.recipients.some((r) => r.address.toLowerCase() === lower)) tx.recipients.push(result.recipient);
    return reply(250, '2.1.5', 'Recipient ok');
  }

  #envelope(tx: Transaction): MailEnvelope {
    return { sender: tx.sender, recipients: tx.recipients, smtputf8: tx.smtputf8 };
  }

  /** Writes arriving body bytes to the transaction's spool file; a write error is remembered, not thrown. */
  #sink(tx: Transaction, spool: SpoolFile): BodySink {
    return async (bytes) => {
      if (tx.spoolFailed) return;
      try {
        await spool.write(bytes);
      } catch (err) {
        tx.spoolFailed = true;
        this.#opts.logger.error({ err: (err as Error).message, session: this.#id }, 'cannot write the spool file');
      }
    };
  }

  async #openSpool(tx: Transaction): Promise<SpoolFile | undefined> {
    try {
      tx.spool ??= await this.#opts.spool.create();
      return tx.spool;
    } catch (err) {
      tx.spoolFailed = true;
      this.#opts.logger.error({ err: (err as Error).message, session: this.#id }, 'cannot create a spool file');
      return undefined;
    }
  }

  async #data(): Promise<Reply | undefined> {
    const tx = this.#tx;
    if (!tx) return REPLIES.badSequence('Need MAIL command first');
    if (tx.chunked) return REPLIES.badSequence('DATA is not allowed after BDAT');
    if (!tx.recipients.length) return reply(554, '5.5.1', 'No valid recipients');
    const spool = await this.#openSpool(tx);
    if (!spool) return REPLIES.localError;
    this.#send(reply(354, undefined, 'End data with <CR><LF>.<CR><LF>'));
    const socket = this.#conn.socket;
    while (socket.writableCorked) socket.uncork();
    const body = await this.#input.data(this.#opts.maxMessageBytes, this.#sink(tx, spool));
    if (body.kind === 'closed') return undefined;
    if (body.tooBig) {
      this.#dropTransaction();
      return reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');
    }
    if (body.bareLf) {
      this.#dropTransaction();
      return reply(550, '5.6.0', 'Message contains bare LF line endings (RFC 5321 section 2.3.8)');
    }
    return this.#finishBody(tx);
  }

  async #bdat(size: number, last: boolean): Promise<Reply | undefined> {
    const tx = this.#tx;
    // The chunk follows the command whatever the answer (RFC 3030 §2): read it first.
    const keep = !!tx && tx.recipients.length > 0 && !tx.tooBig && tx.chunkBytes + size <= this.#opts.maxMessageBytes;
    const spool = keep ? await this.#openSpool(tx) : undefined;
    const read = await this.#input.bytes(size, tx && spool ? this.#sink(tx, spool) : undefined);
    if (!read) return undefined;
    if (!tx) return REPLIES.badSequence('Need MAIL command first');
    if (!tx.recipients.length) {
      this.#dropTransaction();
      return reply(554, '5.5.1', 'No valid recipients');
    }
    tx.chunked = true;
    tx.chunkBytes += size;
    if (!keep) tx.tooBig = true;
    if (tx.tooBig) {
      this.#dropTransaction();
      return reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');
    }
    if (!last) return reply(250, '2.0.0', `${size} octets received`);
    return this.#finishBody(tx);
  }

  /** The body is complete: deliver it, then remove its spool file whatever the outcome. */
  async #finishBody(tx: Transaction): Promise<Reply> {
    if (this.#state.kind === 'transaction' && this.#state.tx === tx) this.#state = { kind: 'ready', helo: this.#state.helo };
    const spool = tx.spool;
    try {
      if (tx.spoolFailed || !spool) return reply(452, '4.3.1', 'Insufficient system storage, try again later');
      return await this.#deliver(tx, spool);
    } finally {
      await spool?.discard();
    }
  }

  async #deliver(tx: Transaction, spool: SpoolFile): Promise<Reply> {
    const now = (this.#opts.clock ?? systemClock).now();
    // One trace id per message (Received `id`, the 250 reply, logs), so two messages sent over one
    // connection can be told apart (RFC 5321 §4.4).
    const view = { ...this.#view(), id: `${this.#id}.${++this.#messages}` };
    const trace = Buffer.from(
      receivedHeader({
        helo: this.#helo?.domain ?? '',
        remoteAddress: this.#conn.remoteAddress,
        by: this.#opts.hostname,
        esmtp: this.#helo?.esmtp ?? false,
        tls: this.#conn.tlsInfo(),
        authenticated: !!this.#auth,
        smtputf8: tx.smtputf8,
        id: view.id,
        recipients: tx.recipients.map((r) => r.address),
        at: now,
      }),
      'utf8',
    );
    // The body is read back from the spool only when the node's delivery memory has room for it.
    const listener = this.#conn.listener.name;
    const release = await this.#opts.memory.take(trace.length + spool.size, () => this.#opts.metrics?.deliveryWaited(listener));
    try {
      const loaded = await spool.read(trace);
      let message = loaded;
      if (this.#protocol === 'submission') {
        const body = loaded.subarray(trace.length);
        const completed = await completeSubmission(body, this.#opts.hostname, now);
        if (completed !== body) message = Buffer.concat([trace, completed]);
      }
      return await this.#opts.transactions.deliver(view, this.#envelope(tx), message);
    } catch (err) {
      this.#opts.logger.error({ err: (err as Error).message, session: this.#id }, 'delivery failed');
      return REPLIES.localError;
    } finally {
      release();
    }
  }
}
