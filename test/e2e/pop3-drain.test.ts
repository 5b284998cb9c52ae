// SIGTERM while a POP3 session is in the TRANSACTION state (RFC 1939 §5): the session gets
// `-ERR [SYS/TEMP]` (RFC 2449 §8.1.2) and is closed, a RETR the client stopped reading is cut
// once limits.drain_timeout has passed, the process exits 0, and a DELE not followed by QUIT
// deletes nothing: only QUIT's UPDATE state (RFC 1939 §6) removes messages.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { spawnServe } from '../helpers/process.ts';
import { portEnv, portOverrides } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const BIG = 10 * 1024 * 1024; // more than loopback's socket buffers hold, so a RETR nobody reads stalls

function message(n: number, bodyBytes = 100): Buffer {
  return Buffer.from(`From: bob@example.test\r\nSubject: drain ${n}\r\n\r\n${'x'.repeat(76)}\r\n`.padEnd(bodyBytes, 'y'));
}

describe('POP3 drain on SIGTERM', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let ports: Awaited<ReturnType<typeof portOverrides>>['ports'];
  let password = '';
  let ca = '';

  const serve = () => spawnServe(['--data', dataDir, '--domain', 'example.test'], env);

  async function signedIn(): Promise<LineClient> {
    const pop = await LineClient.connect(ports.pop3s, { tls: true, ca });
    assert.match((await pop.line()) ?? '', /^\+OK/);
    pop.write('USER admin@example.test\r\n');
    assert.match((await pop.line()) ?? '', /^\+OK/);
    pop.write(`PASS ${password}\r\n`);
    assert.match((await pop.line(10_000)) ?? '', /^\+OK/);
    return pop;
  }

  async function stat(): Promise<string> {
    const pop = await signedIn();
    pop.write('STAT\r\n');
    const line = (await pop.line()) ?? '';
    pop.write('QUIT\r\n');
    assert.match((await pop.line()) ?? '', /^\+OK/);
    pop.close();
    return line;
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-pop3-drain-'));
    ({ ports } = await portOverrides());
    env = { ...portEnv(ports), FINGERPOST_LIMITS_DRAIN_TIMEOUT: '2s' };
    const proc = await serve();
    try {
      password = /password: (\S+)/.exec(proc.stderr)![1]!;
      ca = await readFile(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
      const imap = new ImapFlow({
        host: '127.0.0.1',
        port: ports.imaps,
        secure: true,
        tls: { ca, servername: 'localhost' },
        auth: { user: 'admin@example.test', pass: password },
        logger: false,
      });
      await imap.connect();
      await imap.append('INBOX', message(1));
      await imap.append('INBOX', message(2, BIG));
      await imap.append('INBOX', message(3));
      await imap.logout();
    } finally {
      assert.equal(await proc.stop('SIGTERM'), 0);
    }
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('answers -ERR [SYS/TEMP] to a session between commands, and its DELE is not committed', async () => {
    const proc = await serve();
    try {
      const pop = await signedIn();
      pop.write('STAT\r\n');
      assert.match((await pop.line()) ?? '', /^\+OK 3 /);
      pop.write('DELE 1\r\n');
      assert.match((await pop.line()) ?? '', /^\+OK/);
      const exited = proc.stop('SIGTERM', 30_000);
      assert.match((await pop.line(10_000)) ?? '', /^-ERR \[SYS\/TEMP\]/);
      await pop.closedByPeer(10_000);
      assert.equal(await exited, 0, 'the drain ends and the process exits 0');
    } finally {
      await proc.stop('SIGKILL');
    }
    const again = await serve();
    try {
      assert.match(await stat(), /^\+OK 3 /, 'the message marked deleted without QUIT is still there');
    } finally {
      assert.equal(await again.stop('SIGTERM'), 0);
    }
  });

  it('cuts a RETR the client stopped reading once limits.drain_timeout has passed; only QUIT deletes', async () => {
    const proc = await serve();
    try {
      const pop = await signedIn();
      pop.write('DELE 1\r\n');
      assert.match((await pop.line()) ?? '', /^\+OK/);
      pop.write('RETR 2\r\n');
      assert.match((await pop.line()) ?? '', /^\+OK/);
      pop.socket.pause();
      // With the client reading nothing the answer cannot finish: the drain must cut it, not wait
      // (stop's SIGKILL comes only after 30 s, far past the 2 s drain timeout).
      assert.equal(await proc.stop('SIGTERM', 30_000), 0, 'the process exits by itself after the drain timeout');
      pop.socket.resume();
      await pop.closedByPeer(10_000);
    } finally {
      await proc.stop('SIGKILL');
    }

    const again = await serve();
    try {
      assert.match(await stat(), /^\+OK 3 /, 'the cut session deleted nothing');
      // The session's maildrop lock went with it: a new session signs in and commits at QUIT.
      const pop = await signedIn();
      pop.write('DELE 1\r\n');
      assert.match((await pop.line()) ?? '', /^\+OK/);
      pop.write('QUIT\r\n');
      assert.match((await pop.line()) ?? '', /^\+OK/);
      await pop.closedByPeer(10_000);
      assert.match(await stat(), /^\+OK 2 /, 'QUIT committed the deletion');
    } finally {
      assert.equal(await again.stop('SIGTERM'), 0);
    }
  });
});
