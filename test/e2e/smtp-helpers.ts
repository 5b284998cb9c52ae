import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import tls from 'node:tls';
import type { TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

/** Shared by the SMTP and POP3 end-to-end tests. */
export function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

export async function inboxOf(t: TestServer, address: string): Promise<string[]> {
  const account = await t.services.directory.findByAddress(address);
  const inbox = await t.services.mail.getMailbox(account!.id, 'INBOX');
  const entries = await t.services.mail.listEntries(inbox!.id);
  const messages = await t.services.mail.getMessages(
    account!.id,
    entries.map((e) => e.messageId),
  );
  return Promise.all(messages.map(async (m) => (await t.services.mail.readRaw(m)).toString('utf8')));
}

export async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads an SMTP reply (all its lines) from a raw client. */
export async function replyOf(c: LineClient): Promise<string> {
  return (await c.until(/^\d{3} /)).join('\n');
}

export async function starttls(c: LineClient, ca: string): Promise<LineClient> {
  c.write('STARTTLS\r\n');
  assert.match(await replyOf(c), /^220 2\.0\.0/);
  const secure = tls.connect({ socket: c.socket, ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  c.socket.removeAllListeners('data');
  return new LineClient(secure);
}
