import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './ports.ts';
import { selfSignedCertificate } from './self-signed.ts';

/** A private Dovecot IMAP server on loopback (Debian `dovecot-imapd`), for tests that need another server's store. */
export interface TestDovecot {
  readonly imapsPort: number;
  readonly user: string;
  readonly password: string;
  /** The user's Maildir root (owned by `nobody`, as Dovecot's mail processes run). */
  readonly maildir: string;
  /** PEM of the self-signed certificate the server presents (name localhost, address 127.0.0.1). */
  readonly caFile: string;
  /** Makes files written under the Maildir since the last call readable by Dovecot. */
  fixOwnership(): void;
  close(): Promise<void>;
}

/** Starts Dovecot in the foreground with its own config, TLS certificate and one passwd-file user. */
export async function startDovecot(): Promise<TestDovecot> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'fp-dovecot-'));
  await chmod(work, 0o755);
  const [imapPort, imapsPort] = (await freePorts(2)) as [number, number];
  const user = 'user1@example.test';
  const password = 'dovecot source password';
  const maildir = path.join(work, 'mail', 'user1', 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(maildir, sub), { recursive: true });
  const certificate = selfSignedCertificate(work);
  await writeFile(path.join(work, 'passwd'), `${user}:{PLAIN}${password}::::::\n`);
  const conf = `base_dir = ${work}/run
state_dir = ${work}/state
instance_name = fp-test-${path.basename(work)}
listen = 127.0.0.1
protocols = imap
log_path = ${work}/dovecot.log
ssl = required
ssl_cert = <${certificate.certFile}
ssl_key = <${certificate.keyFile}
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu ${work}/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=${work}/mail/%Ln allow_all_users=yes
}
mail_location = maildir:~/Maildir
# Benchmarks open up to 50 sessions of the one user from 127.0.0.1 (bench/imap-writers.ts).
protocol imap {
  mail_max_userip_connections = 200
}
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${imapsPort}
    ssl = yes
  }
}
`;
  await writeFile(path.join(work, 'dovecot.conf'), conf);
  const fixOwnership = () => execFileSync('chown', ['-R', 'nobody:nogroup', path.join(work, 'mail')]);
  fixOwnership();
  const child: ChildProcess = spawn('dovecot', ['-F', '-c', path.join(work, 'dovecot.conf')], { stdio: 'ignore' });
  // Ready once the IMAPS port answers.
  const net = await import('node:net');
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(imapsPort, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 200 || child.exitCode !== null) throw new Error(`dovecot did not start (see ${work}/dovecot.log)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    imapsPort,
    user,
    password,
    maildir,
    caFile: certificate.certFile,
    fixOwnership,
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      await rm(work, { recursive: true, force: true });
    },
  };
}
