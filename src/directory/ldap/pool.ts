import net from 'node:net';
import tls from 'node:tls';
import { Client, type Entry, InvalidCredentialsError, ResultCodeError, type SearchOptions } from 'ldapts';
import { FingerpostError } from '../../core/errors.ts';
import type { LdapOptions } from './options.ts';

/** No configured server answered in time: a temporary failure (IMAP `[UNAVAILABLE]`, SMTP 454, HTTP 503). */
export class LdapUnavailableError extends FingerpostError {
  constructor(source: string, cause?: unknown) {
    super('unavailable', `the LDAP directory ${source} cannot be reached`, {
      ...(cause === undefined ? {} : { cause }),
      hint: 'check that the servers in directory.ldap.urls answer',
    });
  }
}

type PoolOptions = Pick<
  LdapOptions,
  'name' | 'urls' | 'startTls' | 'ca' | 'bindDn' | 'bindPassword' | 'poolSize' | 'timeoutMs' | 'retryMs'
>;

interface Pooled {
  readonly client: Client;
  alive(): boolean;
}

interface Server {
  readonly url: string;
  readonly host: string;
  /** Service-bound connections for searches, used round-robin (LDAP multiplexes requests). */
  readonly clients: Array<Promise<Pooled> | undefined>;
  next: number;
  /** Until when (epoch ms) this server is skipped after a failure. */
  downUntil: number;
}

/**
 * Connections to the servers of one LDAP source: searches on a small pool of connections bound as
 * the service account, password checks on a connection of their own (RFC 4513 §5.1.3 simple bind,
 * never reading a hash). Servers are tried in order; one that fails or is slower than the timeout
 * is skipped for `retryMs`, and when every server is skipped a request fails at once.
 */
export class LdapPool {
  readonly #o: PoolOptions;
  readonly #servers: Server[];
  readonly #now: () => number;

  constructor(options: PoolOptions, now: () => number = Date.now) {
    this.#o = options;
    this.#now = now;
    this.#servers = options.urls.map((url) => ({ url, host: new URL(url).hostname, clients: [], next: 0, downUntil: 0 }));
  }

  /** A subtree (or given scope) search as the service account; entries as ldapts returns them. */
  search(base: string, options: SearchOptions): Promise<Entry[]> {
    return this.#onAnyServer(async (server) => {
      const client = await this.#pooled(server);
      const { searchEntries } = await client.search(base, { sizeLimit: 2, timeLimit: Math.ceil(this.#o.timeoutMs / 1000), ...options });
      return searchEntries;
    });
  }

  /**
   * Whether `password` is the entry's password: a bind as `dn` on a fresh connection, closed
   * after. An empty password is refused without asking (RFC 4513 §5.1.2: it would be an
   * unauthenticated bind, which servers report as success).
   */
  async verify(dn: string, password: string): Promise<boolean> {
    if (!password || !dn) return false;
    return this.#onAnyServer(async (server) => {
      const { client } = await this.#connect(server);
      try {
        await client.bind(dn, password);
        return true;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return false;
        throw err;
      } finally {
        client.unbind().catch(() => {});
      }
    });
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    for (const server of this.#servers) await this.#drop(server);
  }

  /**
   * Runs `op` on the first server not marked down; a network failure or timeout marks the server
   * down and tries the next. LDAP result codes (no such object, insufficient access) are answers,
   * not failures, except busy and unavailable (RFC 4511 Appendix A.1 codes 51, 52).
   */
  async #onAnyServer<T>(op: (server: Server) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const server of this.#servers) {
      if (server.downUntil > this.#now()) continue;
      try {
        return await this.#deadline(op(server));
      } catch (err) {
        if (err instanceof ResultCodeError && err.code !== 51 && err.code !== 52) throw err;
        last = err;
        server.downUntil = this.#now() + this.#o.retryMs;
        await this.#drop(server);
      }
    }
    throw new LdapUnavailableError(this.#o.name, last);
  }

  #deadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#o.timeoutMs} ms`)), this.#o.timeoutMs);
    });
    work.catch(() => {});
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  async #pooled(server: Server): Promise<Client> {
    const i = server.next++ % this.#o.poolSize;
    const slot = server.clients[i];
    if (slot) {
      const pooled = await slot;
      // A connection the server closed (idle timeout) would be reopened by ldapts unbound, and after
      // StartTLS in clear: a new one takes its place instead.
      if (pooled.alive()) return pooled.client;
      if (server.clients[i] === slot) server.clients[i] = undefined;
      pooled.client.unbind().catch(() => {});
    }
    const fresh = this.#connect(server).then(async (pooled) => {
      if (this.#o.bindDn) await pooled.client.bind(this.#o.bindDn, this.#o.bindPassword);
      return pooled;
    });
    server.clients[i] = fresh;
    // A connection that failed to open or bind is opened again on next use.
    fresh.catch(() => {
      if (server.clients[i] === fresh) server.clients[i] = undefined;
    });
    return (await fresh).client;
  }

  /**
   * A new connection, TLS from the start (ldaps://) or after StartTLS. `alive` turns false once its
   * TLS socket closes (ldapts does not notice that after StartTLS), and a StartTLS connection is
   * never reopened in clear.
   */
  async #connect(server: Server): Promise<Pooled> {
    const tlsOptions = { ...(this.#o.ca ? { ca: this.#o.ca } : {}), servername: server.host, rejectUnauthorized: true };
    const startTls = this.#o.startTls && server.url.startsWith('ldap:');
    let upgraded = false;
    let closed = false;
    const client = new Client({
      url: server.url,
      timeout: this.#o.timeoutMs,
      connectTimeout: this.#o.timeoutMs,
      ...(server.url.startsWith('ldaps:') ? { tlsOptions } : {}),
      createSecureConnection: ((...args: unknown[]) => {
        const socket = (tls.connect as (...a: unknown[]) => tls.TLSSocket)(...args);
        socket.once('close', () => {
          closed = true;
        });
        return socket;
      }) as typeof tls.connect,
      createConnection: ((port: number, host: string) => {
        if (upgraded) throw new Error('the StartTLS connection was closed');
        return net.connect(port, host);
      }) as typeof net.connect,
    });
    if (startTls) {
      await client.startTLS(tlsOptions);
      upgraded = true;
    }
    return { client, alive: () => !closed };
  }

  async #drop(server: Server): Promise<void> {
    const clients = server.clients.splice(0);
    for (const c of clients) await c?.then((pooled) => pooled.client.unbind()).catch(() => {});
  }
}

/** The first value of an attribute as text, or undefined. */
export function first(entry: Entry, attribute: string): string | undefined {
  return values(entry, attribute)[0];
}

/** Every value of an attribute as text (attribute names are matched case-insensitively). */
export function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const v = key === undefined || key === 'dn' ? undefined : entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}
