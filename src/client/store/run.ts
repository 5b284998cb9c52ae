/** What a helper command (gpg, pass, secret-tool) returned. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * Runs `file args` (no shell) or, with `shell`, `/bin/sh -c command`, feeding `input` on stdin.
 * Never throws for a non-zero exit; throws only when the program cannot be started. Killed after
 * `timeoutMs` (a gpg pinentry waiting for nobody must not hang a mail client forever).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { input?: Uint8Array | string; env?: NodeJS.ProcessEnv; shell?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  // Loaded on first use: a `fingerpost token` answered by the agent never starts a helper.
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve, reject) => {
    const child = options.shell
      ? spawn('/bin/sh', ['-c', command], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(command, [...args], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** The first non-empty line of a command's stderr, for an error message. */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean)
      ?.slice(0, 200) ?? ''
  );
}
