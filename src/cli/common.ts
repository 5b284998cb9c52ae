import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/config.ts';
import { loadConfig } from '../config/load.ts';
import { FingerpostError, isFingerpostError } from '../core/errors.ts';
import { adminEnv } from './server-env.ts';

/** Options every server-side command takes. */
export interface StoreOptions {
  config?: string;
  data?: string;
}

/** Adds --config and --data (also FINGERPOST_CONFIG / FINGERPOST_DATA) to a command. */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'TOML config file (default: DATA/fingerpost.toml if present; env FINGERPOST_CONFIG)')
    .option('--data <dir>', 'data directory (default ./data; env FINGERPOST_DATA)');
}

/**
 * Loads the config snapshot for a command from its flags and the environment. Admin commands (all
 * but `serve`) also take the `FINGERPOST_*` variables the server was started with
 * (src/cli/server-env.ts), and say so on stderr.
 */
export function configFrom(options: StoreOptions, overrides?: Record<string, unknown>, role: 'server' | 'admin' = 'admin'): Config {
  const dataDir = path.resolve(options.data ?? process.env.FINGERPOST_DATA ?? 'data');
  const { env, notice } = role === 'admin' ? adminEnv(dataDir, process.env) : { env: process.env, notice: undefined };
  const config = loadConfig({ file: options.config ?? process.env.FINGERPOST_CONFIG, dataDir, env, overrides });
  if (notice) process.stderr.write(`${notice}\n`);
  return config;
}

/** Exit codes: 0 ok, 1 failure, 2 bad config or usage. */
export function exitCodeFor(err: unknown): number {
  return isFingerpostError(err, 'config_invalid', 'invalid_argument') ? 2 : 1;
}

/** Prints an error the way every command does: one line per problem, then what to do. */
export function reportError(err: unknown): void {
  if (err instanceof FingerpostError) {
    for (const line of err.message.split('\n')) process.stderr.write(`fingerpost: ${line}\n`);
    if (err.hint) process.stderr.write(`  fix: ${err.hint}\n`);
  } else {
    process.stderr.write(`fingerpost: ${(err as Error)?.stack ?? String(err)}\n`);
  }
}

/** Runs a command body, turning errors into a clear message and exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
      process.exitCode = exitCodeFor(err);
    }
  };
}

/** Reads one line (a password) from stdin, without echoing anything. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line)
    throw new FingerpostError('invalid_argument', 'no password on standard input', {
      hint: 'pipe it in: printf %s "$PASS" | fingerpost … --password-stdin',
    });
  return line;
}

/** Prints rows as aligned columns. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(headers)}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}
