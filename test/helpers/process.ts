import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, NODE } from './server.ts';

/** A `fingerpost serve` child process and what it has printed so far. */
export interface ServeProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code after SIGTERM (or SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

/** Starts `fingerpost serve ARGS` and waits until it prints that it is running (or exits). */
export async function spawnServe(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(NODE, [CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: ServeProcess = {
    child,
    stdout: '',
    stderr: '',
    stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill(signal);
      });
    },
  };
  child.stdout!.on('data', (d) => (proc.stdout += d));
  child.stderr!.on('data', (d) => (proc.stderr += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // No server left behind to keep the test process alive.
      child.kill('SIGKILL');
      reject(new Error(`serve did not start in ${timeoutMs} ms:\n${proc.stderr}`));
    }, timeoutMs);
    const check = () => {
      if (proc.stderr.includes('Fingerpost is running')) {
        clearTimeout(timer);
        // the banner is one write; give it a tick to arrive whole
        setTimeout(resolve, 50);
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return proc;
}
