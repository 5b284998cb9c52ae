import { openSync } from 'node:fs';
import { localProblem } from '../errors.ts';
import { firstLine, runCommand } from './run.ts';

/**
 * Where the age passphrase comes from, in order: `FINGERPOST_PASSPHRASE` (for automation), the
 * account's passphrase command (e.g. `pass show fingerpost`), else a prompt on the terminal
 * (`/dev/tty`, so it works while a mail client captures stdout). Asked at most once per process.
 */
export function passphraseSource(options: {
  address: string;
  command?: string;
  env?: NodeJS.ProcessEnv;
  /** Prompt on this terminal instead of /dev/tty (tests). */
  prompt?: (question: string) => Promise<string>;
}): (purpose: 'new' | 'unlock') => Promise<string> {
  const env = options.env ?? process.env;
  let cached: string | undefined;
  return async (purpose) => {
    if (cached !== undefined) return cached;
    let value: string | undefined;
    if (env.FINGERPOST_PASSPHRASE) value = env.FINGERPOST_PASSPHRASE;
    else if (options.command) {
      const r = await runCommand(options.command, [], { shell: true, env: { ...env, FINGERPOST_ACCOUNT: options.address } });
      if (r.code !== 0)
        throw localProblem(`the passphrase command failed (exit ${r.code}): ${firstLine(r.stderr)}`, 'check --passphrase-command');
      value = r.stdout.toString('utf8').split(/\r?\n/)[0];
    } else {
      const ask = options.prompt ?? promptTty;
      value = await ask(`Passphrase for the token file of ${options.address}: `);
      if (purpose === 'new') {
        if (value && value.length < 8) throw localProblem('the passphrase is shorter than 8 characters', 'choose a longer passphrase');
        const again = await ask('Repeat the passphrase: ');
        if (again !== value) throw localProblem('the passphrases differ', 'run the command again');
      }
    }
    if (!value) throw localProblem('no passphrase given', 'set FINGERPOST_PASSPHRASE, use --passphrase-command, or run from a terminal');
    cached = value;
    return value;
  };
}

/** Reads a line from the controlling terminal without echo. */
export function promptTty(question: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return Promise.reject(
      localProblem('no terminal to ask for the passphrase', 'set FINGERPOST_PASSPHRASE or use --passphrase-command (age store)'),
    );
  }
  const tty = process.getBuiltinModule('node:tty');
  const input = new tty.ReadStream(fd);
  const output = new tty.WriteStream(fd);
  output.write(question);
  input.setRawMode(true);
  return new Promise((resolve, reject) => {
    let line = '';
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.removeAllListeners('data');
      output.write('\n');
      input.destroy();
      if (err) reject(err);
      else resolve(line);
    };
    input.on('data', (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(localProblem('cancelled'));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    });
  });
}
