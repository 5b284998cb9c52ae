import type { SpamVerdict } from './policy.ts';

export interface RspamdOptions {
  /** Base URL of rspamd's normal worker (`http://127.0.0.1:11333`). */
  readonly url: string;
  /** The longest one check may take. */
  readonly timeoutMs: number;
  /** The controller password for learning (`Password` header); '' when none is set. */
  readonly password?: string;
  /** Base URL of rspamd's controller worker for learning (`http://127.0.0.1:11334`); '' uses `url`. */
  readonly controllerUrl?: string;
}

/** What rspamd is told about the SMTP transaction (rspamd protocol request headers). */
export interface RspamdEnvelope {
  readonly ip: string;
  readonly helo: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly queueId: string;
  /** Our host name (`MTA-Name`). */
  readonly hostname: string;
}

/** rspamd could not give a verdict (down, timed out, or answered nonsense). */
export class RspamdUnavailable extends Error {}

const MAX_SYMBOLS = 200;
const MAX_RESPONSE = 1024 * 1024;

const headerSafe = (s: string) => s.replace(/[^\x21-\x7e]/g, '').slice(0, 512);

/**
 * A client of rspamd's HTTP API: `/checkv2` scores a message (action, score, symbols), and
 * `/learnspam` / `/learnham` on the controller train its Bayes classifier. Every call is bounded
 * in time; failures reject with `RspamdUnavailable`.
 */
export class RspamdClient {
  readonly #o: RspamdOptions;

  constructor(options: RspamdOptions) {
    this.#o = options;
  }

  async #post(base: string, path: string, body: Uint8Array, headers: Record<string, string>): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (err) {
      throw new RspamdUnavailable(`rspamd at ${base} unreachable: ${(err as Error).message}`);
    }
    const text = await res.text().catch(() => '');
    if (text.length > MAX_RESPONSE) throw new RspamdUnavailable('rspamd answer too large');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RspamdUnavailable(`rspamd answered HTTP ${res.status} without JSON`);
    }
    if (!res.ok) {
      const error = (json as { error?: unknown }).error;
      throw new RspamdUnavailable(`rspamd answered HTTP ${res.status}${typeof error === 'string' ? `: ${error.slice(0, 200)}` : ''}`);
    }
    return json;
  }

  /** Scores one message (`POST /checkv2`). */
  async check(message: Uint8Array, env: RspamdEnvelope): Promise<SpamVerdict> {
    const headers: Record<string, string> = {
      IP: headerSafe(env.ip),
      Helo: headerSafe(env.helo),
      From: headerSafe(env.sender),
      'Queue-Id': headerSafe(env.queueId),
      'MTA-Name': headerSafe(env.hostname),
    };
    // One Rcpt header per recipient: fetch headers can repeat only by joining, which rspamd also reads.
    if (env.recipients.length) headers.Rcpt = env.recipients.slice(0, 100).map(headerSafe).join(',');
    const json = (await this.#post(this.#o.url, '/checkv2', message, headers)) as Record<string, unknown>;
    const score = Number(json.score);
    const required = Number(json.required_score);
    const action = typeof json.action === 'string' ? json.action : '';
    if (!action || !Number.isFinite(score)) throw new RspamdUnavailable('rspamd answer has no action or score');
    const symbols =
      json.symbols && typeof json.symbols === 'object'
        ? Object.keys(json.symbols as object)
            .slice(0, MAX_SYMBOLS)
            .sort()
        : [];
    return { action, score, required: Number.isFinite(required) ? required : 0, symbols };
  }

  /** Trains the classifier (`POST /learnspam` or `/learnham` on the controller). */
  async learn(kind: 'spam' | 'ham', message: Uint8Array): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.#o.password) headers.Password = this.#o.password;
    await this.#post(this.#o.controllerUrl || this.#o.url, kind === 'spam' ? '/learnspam' : '/learnham', message, headers);
  }
}
