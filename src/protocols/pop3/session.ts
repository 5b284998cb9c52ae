import { connectionContext } from '../../auth/connection-context.ts';
import { SaslExchange } from '../../auth/sasl/exchange.ts';
import type { AuthContext, AuthCore, AuthOutcome, AuthResult, EndReason, SessionRegistration } from '../../auth/types.ts';
import { randomId } from '../../core/ids.ts';
import type { Logger } from '../../core/log.ts';
import type { Pop3MailView } from '../../mail/views.ts';
import type { Connection } from '../../net/connection.ts';
import { driveSasl } from '../../net/drive-sasl.ts';
import { upgradeTls } from '../../net/upgrade-tls.ts';
import type { SessionHandle } from '../../net/listener.ts';
import { activities } from '../../core/activity.ts';
import { LineInput } from '../../net/line-input.ts';
import type { MaildropLocks } from '../../mail/maildrop-lock.ts';
import { type DropMessage, Maildrop } from './maildrop.ts';
import { MAX_SASL_LINE, parseCommand, type Pop3Command } from './wire/command.ts';
import { multiline, topOf } from './wire/output.ts';

export interface Pop3Options {
  readonly hostname: string;
  readonly auth: AuthCore;
  readonly mail: Pop3MailView;
  readonly locks: MaildropLocks;
  readonly logger: Logger;
  readonly tlsTimeoutMs: number;
  readonly maxErrors?: number;
}

type State =
  | { readonly kind: 'authorization'; readonly user?: string }
  | {
      readonly kind: 'transaction';
      readonly auth: AuthResult;
      readonly drop: Maildrop;
      readonly deleted: Set<number>;
    };

/**
 * One POP3 session (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595 §4), SASL AUTH (RFC 5034)
 * through the shared exchange, USER/PASS only where policy allows passwords over TLS, a maildrop
 * lock across nodes, and deletions committed only at QUIT.
 */
export class Pop3Session implements SessionHandle {
  readonly #conn: Connection;
  readonly #o: Pop3Options;
  readonly #input = new LineInput();
  readonly #id = randomId('p');
  #state: State = { kind: 'authorization' };
  #registration: SessionRegistration | undefined;
  #lockTimer: NodeJS.Timeout | undefined;
  #closing = false;
  #busy = false;
  #draining = false;
  #errors = 0;

  constructor(conn: Connection, options: Pop3Options) {
    this.#conn = conn;
    this.#o = options;
  }

  start(): void {
    this.#input.attach(this.#conn.socket);
    this.#run()
      .catch((err: Error) => {
        this.#o.logger.error({ err: err.message, session: this.#id }, 'pop3 session failed');
        this.#finish('-ERR [SYS/TEMP] Internal error');
      })
      .finally(() => this.#cleanup());
  }

  /** Idle timeout or shutdown; a shutdown lets the command in flight answer first (RFC 2449 §8.1.2 SYS/TEMP). */
  close(reason: 'shutdown' | 'idle'): void {
    if (reason === 'shutdown' && (this.#busy || this.#input.pending > 0)) {
      this.#draining = true;
      return;
    }
    this.#finish(reason === 'idle' ? '-ERR Autologout; idle for too long' : '-ERR [SYS/TEMP] Server shutting down');
  }

  #end(reason: EndReason): void {
    this.#finish(`-ERR [AUTH] Session ended (${reason.replace(/_/g, ' ')})`);
  }

  #finish(line?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#input.close();
    this.#conn.end(line ? `${line}\r\n` : undefined);
  }

  #cleanup(): void {
    clearInterval(this.#lockTimer);
    this.#registration?.unregister();
    this.#input.detach();
    if (this.#state.kind === 'transaction') {
      // Closed without QUIT: no UPDATE state, nothing is deleted (RFC 1939 §6).
      this.#o.locks.release(this.#state.auth.account.id, this.#id).catch(() => {});
    }
  }

  #send(data: string | Buffer): void {
    if (!this.#closing) this.#conn.write(data);
  }

  #ok(text: string): void {
    this.#send(`+OK ${text}\r\n`);
  }

  #err(text: string): void {
    this.#errors++;
    this.#send(`-ERR ${text}\r\n`);
  }

  #context(): AuthContext {
    return connectionContext(this.#conn, 'pop3');
  }

  #mechanisms(): readonly string[] {
    return this.#o.auth.policy(this.#conn.listener.name).mechanisms(this.#conn.secure);
  }

  #userAllowed(): boolean {
    return this.#conn.secure && this.#o.auth.policy(this.#conn.listener.name).plain;
  }

  #flush(): void {
    const s = this.#conn.socket;
    while (s.writableCorked) s.uncork();
  }

  async #run(): Promise<void> {
    this.#ok(`${this.#o.hostname} Fingerpost POP3 ready`);
    const maxErrors = this.#o.maxErrors ?? 10;
    while (!this.#closing) {
      if (this.#input.pending > 0) this.#conn.socket.cork();
      else this.#flush();
      const line = await this.#input.line(MAX_SASL_LINE);
      if (line.kind === 'closed') break;
      const command: Pop3Command = line.kind === 'too_long' ? line : parseCommand(line.text);
      if (command.kind === 'too_long') this.#err('Line too long');
      else {
        const done = activities.begin('pop3', command.verb.slice(0, 16), this.#id);
        this.#busy = true;
        try {
          await this.#command(command);
        } finally {
          this.#busy = false;
          done();
        }
      }
      if (this.#draining) this.#finish('-ERR [SYS/TEMP] Server shutting down');
      if (this.#errors >= maxErrors) this.#finish('-ERR Too many errors, closing connection');
    }
    this.#flush();
  }

  async #command({ verb: cmd, args, rest }: Extract<Pop3Command, { kind: 'command' }>): Promise<void> {
    if (cmd === 'CAPA') return this.#capa();
    if (cmd === 'QUIT') return this.#quit();
    if (cmd === 'NOOP' && this.#state.kind === 'transaction') return this.#ok('');
    if (this.#state.kind === 'authorization') {
      switch (cmd) {
        case 'STLS':
          return this.#stls();
        case 'USER':
          return this.#user(rest);
        case 'PASS':
          return this.#pass(rest);
        case 'AUTH':
          return this.#auth(args);
        case 'APOP':
          return this.#err('APOP is not supported');
        default:
          return this.#err(cmd === '' ? 'Empty command' : 'Unknown command or not allowed before authentication');
      }
    }
    return this.#transaction(cmd, args);
  }

  #capa(): void {
    const lines = ['Capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'IMPLEMENTATION Fingerpost'];
    if (this.#state.kind === 'authorization') {
      if (!this.#conn.secure) lines.push('STLS');
      if (this.#userAllowed()) lines.push('USER');
      const mechs = this.#mechanisms();
      if (mechs.length) lines.push(`SASL ${mechs.join(' ')}`);
    }
    const [first, ...rest] = lines;
    this.#send(`+OK ${first}\r\n${rest.map((l) => `${l}\r\n`).join('')}.\r\n`);
  }

  async #stls(): Promise<void> {
    if (this.#conn.secure) return this.#err('TLS is already active');
    // RFC 2595 §4: nothing pipelined in cleartext after STLS is executed.
    if (!(await upgradeTls(this.#conn, this.#input, '+OK Begin TLS negotiation\r\n', this.#o.tlsTimeoutMs))) {
      this.#closing = true;
      this.#input.close();
      return;
    }
    this.#state = { kind: 'authorization' };
  }

  #user(name: string): void {
    if (!this.#userAllowed()) {
      this.#err(this.#conn.secure ? 'USER/PASS is not allowed here' : '[AUTH] Use STLS first: no passwords on cleartext');
      return;
    }
    if (!name) {
      this.#err('Syntax: USER name');
      return;
    }
    this.#state = { kind: 'authorization', user: name };
    this.#ok('Send PASS');
  }

  async #pass(password: string): Promise<void> {
    const state = this.#state;
    if (state.kind !== 'authorization' || !state.user) return this.#err('Send USER first');
    this.#state = { kind: 'authorization' };
    if (!this.#userAllowed()) return this.#err('[AUTH] USER/PASS is not allowed here');
    const outcome = await this.#o.auth.authenticate(
      { kind: 'password', username: state.user, password, mechanism: 'USER' },
      this.#context(),
    );
    await this.#login(outcome);
  }

  async #auth(args: readonly string[]): Promise<void> {
    const mechs = this.#mechanisms();
    if (!args.length) {
      // Listing mechanisms for a bare AUTH (RFC 1734 style) helps older clients.
      this.#send(`+OK\r\n${mechs.map((m) => `${m}\r\n`).join('')}.\r\n`);
      return;
    }
    if (!mechs.length) return this.#err(this.#conn.secure ? 'Authentication is not offered here' : '[AUTH] Use STLS first');
    const end = await driveSasl(new SaslExchange(args[0]!, mechs), args[1], {
      challenge: async (text) => {
        // RFC 5034 §4: "+ " then the base64 challenge ("+ " alone when empty).
        this.#send(`+ ${text}\r\n`);
        this.#flush();
        return this.#input.line(MAX_SASL_LINE);
      },
      authenticate: (credentials) => this.#o.auth.authenticate(credentials, this.#context()),
    });
    switch (end.kind) {
      case 'closed':
        return;
      case 'too_long':
        return this.#err('Authentication line too long');
      case 'failed':
      case 'rejected':
        if (end.reason === 'unsupported_mechanism') return this.#err('Unsupported authentication mechanism');
        if (end.reason === 'cancelled') return this.#err('Authentication cancelled');
        return this.#err('[AUTH] Authentication failed');
      case 'verdict':
        return this.#login(end.verdict);
    }
  }

  async #login(outcome: AuthOutcome): Promise<void> {
    if (!outcome.ok) {
      if (outcome.code === 'temporary' || outcome.code === 'rate_limited') return this.#err('[SYS/TEMP] Try again later');
      return this.#err('[AUTH] Authentication failed');
    }
    const accountId = outcome.account.id;
    if (!(await this.#o.locks.acquire(accountId, this.#id))) return this.#err('[IN-USE] Maildrop is locked by another session');
    const drop = await Maildrop.open(this.#o.mail, accountId);
    if (!drop) {
      await this.#o.locks.release(accountId, this.#id);
      return this.#err('[SYS/PERM] No INBOX for this account');
    }
    this.#state = { kind: 'transaction', auth: outcome, drop, deleted: new Set() };
    this.#conn.signedIn();
    this.#registration = this.#o.auth.register(outcome, this.#context(), (reason) => this.#end(reason));
    this.#lockTimer = setInterval(
      () => this.#o.locks.refresh(accountId, this.#id).catch(() => {}),
      Math.max(1000, this.#o.locks.leaseMs / 3),
    );
    this.#lockTimer.unref();
    const size = drop.messages.reduce((n, m) => n + m.size, 0);
    this.#ok(`Maildrop locked and ready: ${drop.messages.length} messages (${size} octets)`);
  }

  /** The message numbered `arg` (1-based), or undefined after sending the error. */
  #message(arg: string | undefined): DropMessage | undefined {
    const state = this.#state;
    if (state.kind !== 'transaction') return undefined;
    if (!arg || !/^\d{1,9}$/.test(arg)) {
      this.#err('Syntax: message number required');
      return undefined;
    }
    const n = Number(arg);
    const msg = state.drop.messages[n - 1];
    if (!msg || n < 1) {
      this.#err('No such message');
      return undefined;
    }
    if (state.deleted.has(n)) {
      this.#err('Message already deleted');
      return undefined;
    }
    return msg;
  }

  async #transaction(cmd: string, args: readonly string[]): Promise<void> {
    const state = this.#state;
    if (state.kind !== 'transaction') return;
    const live = () => state.drop.messages.map((m, i) => ({ n: i + 1, m })).filter(({ n }) => !state.deleted.has(n));
    switch (cmd) {
      case 'STAT': {
        const msgs = live();
        return this.#ok(`${msgs.length} ${msgs.reduce((s, x) => s + x.m.size, 0)}`);
      }
      case 'LIST':
      case 'UIDL': {
        const field = (x: DropMessage) => (cmd === 'LIST' ? String(x.size) : x.uidl);
        if (args[0] !== undefined) {
          const msg = this.#message(args[0]);
          if (msg) this.#ok(`${args[0]} ${field(msg)}`);
          return;
        }
        const lines = live().map(({ n, m }) => `${n} ${field(m)}\r\n`);
        this.#send(`+OK ${lines.length} messages\r\n${lines.join('')}.\r\n`);
        return;
      }
      case 'RETR': {
        const msg = this.#message(args[0]);
        if (!msg) return;
        const raw = await state.drop.raw(msg);
        this.#send(Buffer.concat([Buffer.from(`+OK ${msg.size} octets\r\n`), multiline(raw)]));
        return;
      }
      case 'TOP': {
        if (args[1] === undefined || !/^\d{1,9}$/.test(args[1])) return this.#err('Syntax: TOP msg lines');
        const msg = this.#message(args[0]);
        if (!msg) return;
        const raw = await state.drop.raw(msg);
        this.#send(Buffer.concat([Buffer.from('+OK\r\n'), multiline(topOf(raw, Number(args[1])))]));
        return;
      }
      case 'DELE': {
        const msg = this.#message(args[0]);
        if (!msg) return;
        state.deleted.add(Number(args[0]));
        return this.#ok(`Message ${args[0]} deleted`);
      }
      case 'RSET':
        state.deleted.clear();
        return this.#ok(`${state.drop.messages.length} messages`);
      case 'STLS':
      case 'USER':
      case 'PASS':
      case 'AUTH':
      case 'APOP':
        return this.#err('Already authenticated');
      default:
        return this.#err('Unknown command');
    }
  }

  async #quit(): Promise<void> {
    const state = this.#state;
    if (state.kind !== 'transaction') return this.#finish(`+OK ${this.#o.hostname} signing off`);
    // The UPDATE state (RFC 1939 §6): deletions are committed only now.
    const uids = [...state.deleted].map((n) => state.drop.messages[n - 1]!.uid);
    try {
      await state.drop.expunge(uids);
    } catch (err) {
      this.#o.logger.error({ err: (err as Error).message, session: this.#id }, 'pop3 expunge failed');
      return this.#finish('-ERR [SYS/TEMP] Some deleted messages were not removed');
    } finally {
      clearInterval(this.#lockTimer);
      await this.#o.locks.release(state.auth.account.id, this.#id).catch(() => {});
      this.#state = { kind: 'authorization' };
    }
    this.#finish(`+OK ${this.#o.hostname} signing off (${uids.length} messages deleted)`);
  }
}
