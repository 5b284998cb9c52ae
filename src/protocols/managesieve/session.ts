import { connectionContext } from '../../auth/connection-context.ts';
import { SaslExchange } from '../../auth/sasl/exchange.ts';
import type { AuthContext, AuthCore, AuthOutcome, AuthResult, EndReason, SessionRegistration } from '../../auth/types.ts';
import { isFingerpostError } from '../../core/errors.ts';
import { randomId } from '../../core/ids.ts';
import type { Logger } from '../../core/log.ts';
import { EXTENSIONS } from '../../mail/sieve/grammar.ts';
import { badScriptName, type SieveScripts } from '../../mail/sieve/scripts.ts';
import { compile } from '../../mail/sieve/validate.ts';
import type { Connection } from '../../net/connection.ts';
import { driveSasl, type SaslLine } from '../../net/drive-sasl.ts';
import { LineInput } from '../../net/line-input.ts';
import type { SessionHandle } from '../../net/listener.ts';
import { upgradeTls } from '../../net/upgrade-tls.ts';
import { type Arg, formatString, readCommand, response, type WireLimits } from './wire.ts';

export interface ManageSieveOptions {
  readonly hostname: string;
  readonly auth: AuthCore;
  readonly scripts: SieveScripts;
  readonly logger: Logger;
  readonly tlsTimeoutMs: number;
  readonly wire: WireLimits;
  /** The limits scripts are checked against (config [sieve]). */
  readonly parse: { readonly maxBytes: number; readonly maxDepth: number };
  readonly maxRedirects: number;
  readonly maxErrors?: number;
}

/**
 * One ManageSieve session (RFC 5804): capabilities, STARTTLS (§2.2) with nothing offered for
 * sign-in before TLS, SASL through the shared exchange (§2.1), then the script commands on the
 * account's scripts: PUTSCRIPT and CHECKSCRIPT compile before storing, one script active.
 */
export class ManageSieveSession implements SessionHandle {
  readonly #conn: Connection;
  readonly #o: ManageSieveOptions;
  readonly #input = new LineInput();
  readonly #id = randomId('s');
  #auth: AuthResult | undefined;
  #registration: SessionRegistration | undefined;
  #closing = false;
  #errors = 0;

  constructor(conn: Connection, options: ManageSieveOptions) {
    this.#conn = conn;
    this.#o = options;
  }

  start(): void {
    this.#input.attach(this.#conn.socket);
    this.#run()
      .catch((err: Error) => {
        this.#o.logger.error({ err: err.message, session: this.#id }, 'managesieve session failed');
        this.#finish(response('BYE', 'Internal error', 'TRYLATER'));
      })
      .finally(() => {
        this.#registration?.unregister();
        this.#input.detach();
      });
  }

  close(reason: 'shutdown' | 'idle'): void {
    this.#finish(
      response('BYE', reason === 'idle' ? 'Idle for too long' : 'Server shutting down', reason === 'idle' ? undefined : 'TRYLATER'),
    );
  }

  #end(reason: EndReason): void {
    this.#finish(response('BYE', `Session ended (${reason.replace(/_/g, ' ')})`));
  }

  #finish(line?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#input.close();
    this.#conn.end(line);
  }

  #send(data: string): void {
    if (!this.#closing) this.#conn.write(data);
  }

  #flush(): void {
    const s = this.#conn.socket;
    while (s.writableCorked) s.uncork();
  }

  #no(text: string, code?: string): void {
    this.#errors++;
    this.#send(response('NO', text, code));
  }

  #context(): AuthContext {
    return connectionContext(this.#conn, 'managesieve');
  }

  #mechanisms(): readonly string[] {
    return this.#o.auth.policy(this.#conn.listener.name).mechanisms(this.#conn.secure);
  }

  /** The capability response (RFC 5804 §1.7), sent as the greeting, after STARTTLS and for CAPABILITY. */
  #capabilities(): string {
    const lines = [
      `"IMPLEMENTATION" "Fingerpost"`,
      `"SASL" ${formatString(this.#auth ? '' : this.#mechanisms().join(' '))}`,
      `"SIEVE" ${formatString(EXTENSIONS.join(' '))}`,
      ...(this.#conn.secure || this.#auth ? [] : ['"STARTTLS"']),
      `"MAXREDIRECTS" "${this.#o.maxRedirects}"`,
      ...(this.#auth ? [`"OWNER" ${formatString(this.#auth.account.address)}`] : []),
      `"VERSION" "1.0"`,
    ];
    return `${lines.join('\r\n')}\r\n`;
  }

  async #run(): Promise<void> {
    this.#send(`${this.#capabilities()}${response('OK', `${this.#o.hostname} ManageSieve ready`)}`);
    const maxErrors = this.#o.maxErrors ?? 10;
    while (!this.#closing) {
      if (this.#input.pending > 0) this.#conn.socket.cork();
      else this.#flush();
      const cmd = await readCommand(this.#input, this.#o.wire);
      if (cmd.kind === 'closed') break;
      if (cmd.kind === 'error') this.#no(cmd.text, cmd.code);
      else if (!cmd.verb) this.#no('Expected a command');
      else await this.#command(cmd.verb, cmd.args);
      if (this.#errors >= maxErrors) this.#finish(response('BYE', 'Too many errors'));
    }
    this.#flush();
    this.#finish();
  }

  async #command(verb: string, args: readonly Arg[]): Promise<void> {
    switch (verb) {
      case 'CAPABILITY':
        return this.#send(`${this.#capabilities()}${response('OK')}`);
      case 'LOGOUT':
        this.#send(response('OK', 'Logout complete'));
        this.#flush();
        this.#finish();
        return;
      case 'NOOP': {
        const tag = args[0]?.kind === 'string' ? args[0].value : undefined;
        return this.#send(tag === undefined ? response('OK', 'Done') : response('OK', 'Done', `TAG ${formatString(tag)}`));
      }
      case 'STARTTLS':
        return this.#starttls();
      case 'AUTHENTICATE':
        return this.#authenticate(args);
    }
    const auth = this.#auth;
    if (!auth) {
      const known = ['PUTSCRIPT', 'CHECKSCRIPT', 'LISTSCRIPTS', 'SETACTIVE', 'GETSCRIPT', 'DELETESCRIPT', 'RENAMESCRIPT', 'HAVESPACE'];
      return this.#no(known.includes(verb) ? 'Authenticate first' : 'Unknown command');
    }
    const account = auth.account.id;
    const str = (i: number) => (args[i]?.kind === 'string' ? (args[i] as { value: string }).value : undefined);
    try {
      switch (verb) {
        case 'LISTSCRIPTS': {
          const list = await this.#o.scripts.list(account);
          return this.#send(`${list.map((s) => `${formatString(s.name)}${s.active ? ' ACTIVE' : ''}\r\n`).join('')}${response('OK')}`);
        }
        case 'GETSCRIPT': {
          const name = str(0);
          if (name === undefined || args.length !== 1) return this.#no('Syntax: GETSCRIPT name');
          const script = await this.#o.scripts.get(account, name);
          if (!script) return this.#no('There is no script by that name', 'NONEXISTENT');
          return this.#send(`{${Buffer.byteLength(script.content, 'utf8')}}\r\n${script.content}\r\n${response('OK')}`);
        }
        case 'HAVESPACE': {
          const name = str(0);
          const size = args[1]?.kind === 'number' ? args[1].value : undefined;
          if (name === undefined || size === undefined || args.length !== 2) return this.#no('Syntax: HAVESPACE name size');
          const full = await this.#o.scripts.spaceFor(account, name, size);
          if (full) return this.#no(full === 'maxsize' ? 'Script too large' : 'Too many scripts', `QUOTA/${full.toUpperCase()}`);
          return this.#send(response('OK'));
        }
        case 'CHECKSCRIPT':
        case 'PUTSCRIPT': {
          const put = verb === 'PUTSCRIPT';
          const name = put ? str(0) : '';
          const content = str(put ? 1 : 0);
          if (name === undefined || content === undefined || args.length !== (put ? 2 : 1))
            return this.#no(put ? 'Syntax: PUTSCRIPT name script' : 'Syntax: CHECKSCRIPT script');
          const bad = put ? badScriptName(name) : undefined;
          if (bad) return this.#no(bad);
          const size = Buffer.byteLength(content, 'utf8');
          const full = put ? await this.#o.scripts.spaceFor(account, name, size) : size > this.#o.parse.maxBytes ? 'maxsize' : undefined;
          if (full) return this.#no(full === 'maxsize' ? 'Script too large' : 'Too many scripts', `QUOTA/${full.toUpperCase()}`);
          try {
            compile(content, this.#o.parse);
          } catch (err) {
            return this.#no((err as Error).message);
          }
          if (put) await this.#o.scripts.put(account, name, content);
          return this.#send(response('OK'));
        }
        case 'SETACTIVE': {
          const name = str(0);
          if (name === undefined || args.length !== 1) return this.#no('Syntax: SETACTIVE name');
          await this.#o.scripts.setActive(account, name);
          return this.#send(response('OK'));
        }
        case 'DELETESCRIPT': {
          const name = str(0);
          if (name === undefined || args.length !== 1) return this.#no('Syntax: DELETESCRIPT name');
          await this.#o.scripts.delete(account, name);
          return this.#send(response('OK'));
        }
        case 'RENAMESCRIPT': {
          const from = str(0);
          const to = str(1);
          if (from === undefined || to === undefined || args.length !== 2) return this.#no('Syntax: RENAMESCRIPT old new');
          const bad = badScriptName(to);
          if (bad) return this.#no(bad);
          await this.#o.scripts.rename(account, from, to);
          return this.#send(response('OK'));
        }
        default:
          return this.#no('Unknown command');
      }
    } catch (err) {
      if (isFingerpostError(err, 'not_found')) return this.#no('There is no script by that name', 'NONEXISTENT');
      if (isFingerpostError(err, 'conflict')) return this.#no('The active script cannot be deleted', 'ACTIVE');
      if (isFingerpostError(err, 'already_exists')) return this.#no('A script by that name exists', 'ALREADYEXISTS');
      if (isFingerpostError(err, 'limit_exceeded')) return this.#no('Over the script quota', 'QUOTA');
      throw err;
    }
  }

  async #starttls(): Promise<void> {
    if (this.#conn.secure) return this.#no('TLS is already active');
    if (this.#auth) return this.#no('STARTTLS is only allowed before authentication');
    // RFC 5804 §2.2: after the handshake the server sends its capabilities again.
    if (!(await upgradeTls(this.#conn, this.#input, response('OK', 'Begin TLS negotiation now'), this.#o.tlsTimeoutMs))) {
      this.#closing = true;
      this.#input.close();
      return;
    }
    this.#send(`${this.#capabilities()}${response('OK', 'TLS active')}`);
  }

  /** Reads the client's answer to a challenge: a quoted string or literal (RFC 5804 §2.1); "*" cancels. */
  async #saslAnswer(): Promise<SaslLine> {
    const answer = await readCommand(this.#input, { maxLine: 64 * 1024, maxLiteral: 64 * 1024 });
    if (answer.kind === 'closed') return answer;
    if (answer.kind === 'error') return { kind: 'too_long' };
    // A bare string comes back as an argument with no verb; readCommand reads atoms as the verb.
    const only = answer.args[0];
    if (answer.verb === '' && only?.kind === 'string') return { kind: 'line', text: only.value };
    return { kind: 'line', text: answer.verb === '*' ? '*' : '' };
  }

  async #authenticate(args: readonly Arg[]): Promise<void> {
    if (this.#auth) return this.#no('Already authenticated');
    const mech = args[0]?.kind === 'string' ? args[0].value : undefined;
    if (!mech) return this.#no('Syntax: AUTHENTICATE "mechanism" ["initial response"]');
    const mechs = this.#mechanisms();
    if (!mechs.length)
      return this.#no(
        this.#conn.secure ? 'Authentication is not offered here' : 'Use STARTTLS first',
        this.#conn.secure ? undefined : 'ENCRYPT-NEEDED',
      );
    const initial = args[1]?.kind === 'string' ? args[1].value : undefined;
    const end = await driveSasl(new SaslExchange(mech.toUpperCase(), mechs), initial, {
      challenge: async (text) => {
        this.#send(`${formatString(text)}\r\n`);
        this.#flush();
        return this.#saslAnswer();
      },
      authenticate: (credentials) => this.#o.auth.authenticate(credentials, this.#context()),
    });
    switch (end.kind) {
      case 'closed':
        return;
      case 'too_long':
        return this.#no('Bad authentication response');
      case 'failed':
      case 'rejected':
        if (end.reason === 'unsupported_mechanism') return this.#no('Unsupported authentication mechanism');
        if (end.reason === 'cancelled') return this.#no('Authentication cancelled');
        return this.#no('Authentication failed');
      case 'verdict':
        return this.#login(end.verdict);
    }
  }

  #login(outcome: AuthOutcome): void {
    if (!outcome.ok) {
      const temporary = outcome.code === 'temporary' || outcome.code === 'rate_limited';
      this.#no(temporary ? 'Try again later' : 'Authentication failed', temporary ? 'TRYLATER' : undefined);
      return;
    }
    this.#auth = outcome;
    this.#conn.signedIn();
    this.#registration = this.#o.auth.register(outcome, this.#context(), (reason) => this.#end(reason));
    this.#send(response('OK', 'Logged in'));
  }
}
