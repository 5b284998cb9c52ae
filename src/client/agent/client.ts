import net from 'node:net';
import path from 'node:path';
import { agentDisabled, agentSocketPath, agentTtlSeconds } from './socket-path.ts';

/**
 * Talking to the token agent (src/client/agent/server.ts): one JSON line each way per connection.
 * Every call is best effort: without an agent (none started, `FINGERPOST_AGENT=off`) lookups
 * answer "nothing held" at once and the caller derives the key itself. `hold` starts the agent
 * when none answers.
 */
export interface AgentClient {
  /** The derived key for a file's scrypt salt, when the agent holds the account's passphrase. */
  key(salt: Uint8Array, logN: number): Promise<Buffer | undefined>;
  /** Hands a passphrase that opened (or sealed) the file to the agent, with the key it derived. */
  hold(passphrase: string, salt: Uint8Array, logN: number, key: Buffer): Promise<void>;
}

/** One request to the agent on `socket`; undefined when none answers (or after `timeoutMs`). */
export function agentRequest(
  socket: string,
  message: Record<string, unknown>,
  timeoutMs = 5_000,
): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    let buf = '';
    const done = (v: Record<string, unknown> | undefined) => {
      c.destroy();
      resolve(v);
    };
    c.setTimeout(timeoutMs, () => done(undefined));
    c.once('error', () => done(undefined));
    c.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      } catch {
        done(undefined);
      }
    });
    c.once('connect', () => c.write(`${JSON.stringify(message)}\n`));
  });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Starts an agent in the background (detached; it exits by itself when it holds nothing). */
function spawnAgent(socket: string, env: NodeJS.ProcessEnv): void {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'server.ts'), socket], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '' },
  });
  child.on('error', () => {});
  child.unref();
}

/**
 * The agent client for one account, named by its account file (two configuration directories may
 * hold the same address with different passphrases); undefined when the agent is turned off.
 */
export function agentFor(accountFile: string, env: NodeJS.ProcessEnv = process.env): AgentClient | undefined {
  if (agentDisabled(env)) return undefined;
  const socket = agentSocketPath(env);
  return {
    async key(salt, logN) {
      const r = await agentRequest(socket, { op: 'key', account: accountFile, salt: b64(salt), logN });
      return typeof r?.key === 'string' ? Buffer.from(r.key, 'base64') : undefined;
    },
    async hold(passphrase, salt, logN, key) {
      const unlock = { op: 'unlock', account: accountFile, passphrase, ttl: agentTtlSeconds(env) };
      let r = await agentRequest(socket, unlock);
      if (!r) {
        try {
          spawnAgent(socket, env);
        } catch {
          return;
        }
        for (let i = 0; i < 40 && !r; i++) {
          await new Promise((res) => setTimeout(res, 50));
          r = await agentRequest(socket, unlock);
        }
        if (!r) return;
      }
      await agentRequest(socket, { op: 'remember', account: accountFile, salt: b64(salt), logN, key: key.toString('base64') });
    },
  };
}

/** `fingerpost agent status`: the accounts held and the seconds left; undefined when no agent runs. */
export async function agentStatus(env: NodeJS.ProcessEnv = process.env): Promise<{ account: string; expiresIn: number }[] | undefined> {
  const r = await agentRequest(agentSocketPath(env), { op: 'status' });
  return Array.isArray(r?.accounts) ? (r.accounts as { account: string; expiresIn: number }[]) : undefined;
}

/** Makes the agent forget one account (or all); true when an agent answered. */
export async function agentForget(env: NodeJS.ProcessEnv = process.env, address?: string): Promise<boolean> {
  return (await agentRequest(agentSocketPath(env), { op: 'forget', ...(address ? { account: address } : {}) })) !== undefined;
}

/** Stops the agent; true when one answered. */
export async function agentStop(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return (await agentRequest(agentSocketPath(env), { op: 'stop' })) !== undefined;
}
