import { mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the token agent listens (src/client/agent/server.ts): `$XDG_RUNTIME_DIR/fingerpost/agent.sock`
 * (XDG Base Directory Specification: per user, mode 0700, gone at logout), else
 * `$TMPDIR/fingerpost-UID/agent.sock`. The directory must be the user's own and closed to others.
 */
export function agentSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : undefined;
  const dir = runtime ? path.join(runtime, 'fingerpost') : path.join(os.tmpdir(), `fingerpost-${process.getuid?.() ?? 'user'}`);
  return path.join(dir, 'agent.sock');
}

/** Makes the socket's directory (0700) and refuses one that another user owns or others can enter. */
export function ensurePrivateDir(socket: string): void {
  const dir = path.dirname(socket);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (process.getuid && st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user`);
  if ((st.mode & 0o077) !== 0) throw new Error(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)})`);
}

/** True when the agent is turned off (`FINGERPOST_AGENT=off`). */
export function agentDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(off|0|no|false)$/i.test(env.FINGERPOST_AGENT ?? '');
}

/** Default time the agent keeps a passphrase (8 hours); `FINGERPOST_AGENT_TTL` seconds overrides it. */
export const DEFAULT_AGENT_TTL_SECONDS = 8 * 3600;
/** The longest time accepted (7 days). */
export const MAX_AGENT_TTL_SECONDS = 7 * 24 * 3600;

/** The TTL from the environment, bounded; the default when unset or malformed. */
export function agentTtlSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.FINGERPOST_AGENT_TTL;
  if (v === undefined || !/^\d{1,9}$/.test(v.trim())) return DEFAULT_AGENT_TTL_SECONDS;
  return Math.min(Number(v), MAX_AGENT_TTL_SECONDS);
}
