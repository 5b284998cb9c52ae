// fingerpost check's dialogues against scripted peers that answer like other providers do: the
// SASL exchange on each protocol (continuation without SASL-IR, the failure challenge answered with
// 0x01 for OAUTHBEARER and an empty line for XOAUTH2, no IR past POP3's 255 octets) and known
// errors turned into advice (Microsoft 535 5.7.139). Fingerpost's own servers are covered end to
// end in test/e2e/client-device.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { checkImap } from '../../../src/client/check/imap.ts';
import { checkPop3 } from '../../../src/client/check/pop3.ts';
import { checkSmtp } from '../../../src/client/check/smtp.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';

const TOKEN = `eyJ.${'x'.repeat(900)}.sig`;
const USER = 'alice@example.test';
const b64 = (s: string) => Buffer.from(s).toString('base64');

type Script = (line: (s: string) => void, next: () => Promise<string>, startTls: () => Promise<void>) => Promise<void>;

/** A peer that runs `script` on each connection; with `implicit` TLS from the first byte. */
async function peer(
  context: tls.SecureContext,
  implicit: boolean,
  script: Script,
): Promise<{ port: number; seen: string[]; close(): void }> {
  const seen: string[] = [];
  const server = net.createServer((raw) => {
    let socket: net.Socket = implicit ? new tls.TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    let buf = '';
    let wake: (() => void) | undefined;
    const attach = (s: net.Socket) => {
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        wake?.();
      });
      s.on('error', () => {});
    };
    attach(socket);
    const next = async (): Promise<string> => {
      for (;;) {
        const i = buf.indexOf('\r\n');
        if (i >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 2);
          seen.push(l);
          return l;
        }
        await new Promise<void>((r) => (wake = r));
      }
    };
    const startTls = async () => {
      socket.removeAllListeners('data');
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
      socket = secure;
      attach(secure);
    };
    script((s) => socket.write(`${s}\r\n`), next, startTls)
      .catch(() => {})
      .finally(() => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, seen, close: () => server.close() };
}

describe('check dialogues and advice', () => {
  let dir: string;
  let context: tls.SecureContext;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-check-'));
    const files = await ensureLocalTls(dir, ['localhost']);
    context = tls.createSecureContext({ cert: await readFile(files.cert), key: await readFile(files.key) });
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), await readFile(files.caCert, 'utf8')]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('SMTP: Microsoft-style 535 5.7.139 becomes "SMTP AUTH is turned off" advice', async () => {
    const p = await peer(context, true, async (line, next) => {
      line('220 outlook.example ESMTP');
      await next();
      line('250-outlook.example');
      line('250 AUTH LOGIN XOAUTH2');
      await next();
      line('334 ');
      await next();
      line('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.');
      await next();
    });
    try {
      const r = await checkSmtp({ host: 'localhost', port: p.port, tls: 'implicit' }, USER, TOKEN, 'XOAUTH2');
      assert.equal(r.ok, false);
      assert.match(r.detail, /535 5\.7\.139/);
      assert.match(r.advice ?? '', /SMTP AUTH turned off/);
      // The IR did not fit 512 octets: AUTH alone, then the response on its own line.
      assert.equal(p.seen[1], 'AUTH XOAUTH2');
      assert.equal(Buffer.from(p.seen[2]!, 'base64').toString('latin1'), `user=${USER}\x01auth=Bearer ${TOKEN}\x01\x01`);
    } finally {
      p.close();
    }
  });

  it('IMAP: STARTTLS, no SASL-IR so a continuation first, the JSON challenge answered with 0x01', async () => {
    const p = await peer(context, false, async (line, next, startTls) => {
      line('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready');
      const st = await next();
      line(`${st.split(' ')[0]} OK begin TLS`);
      await startTls();
      const cap = await next();
      line('* CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER');
      line(`${cap.split(' ')[0]} OK done`);
      await next();
      line('+ ');
      await next();
      line(`+ ${b64(JSON.stringify({ status: 'invalid_token', scope: 'urn:ietf:params:oauth:scope:mail' }))}`);
      await next();
      line('a1 NO [AUTHENTICATIONFAILED] Authentication failed');
    });
    try {
      const r = await checkImap({ host: 'localhost', port: p.port, tls: 'starttls' }, USER, TOKEN, 'OAUTHBEARER');
      assert.equal(r.ok, false);
      assert.match(r.detail, /AUTHENTICATIONFAILED.*status invalid_token/);
      assert.match(r.advice ?? '', /refused the token/);
      assert.equal(p.seen[2], 'a1 AUTHENTICATE OAUTHBEARER', 'no initial response without SASL-IR (RFC 4959 §3)');
      assert.match(
        Buffer.from(p.seen[3]!, 'base64').toString('latin1'),
        /^n,a=alice@example\.test,\x01host=localhost\x01port=\d+\x01auth=Bearer /,
      );
      assert.equal(p.seen[4], 'AQ==', 'the dummy response ends the failed exchange (RFC 7628 §3.2.3)');
    } finally {
      p.close();
    }
  });

  it('POP3: no IR past 255 octets, XOAUTH2 failure answered with an empty line', async () => {
    const p = await peer(context, true, async (line, next) => {
      line('+OK POP3 ready');
      await next();
      line('+OK');
      line('SASL XOAUTH2');
      line('.');
      await next();
      line('+ ');
      await next();
      line(`+ ${b64(JSON.stringify({ status: '400', schemes: 'Bearer', scope: 'https://mail.google.com/' }))}`);
      await next();
      line('-ERR [AUTH] Invalid credentials');
    });
    try {
      const r = await checkPop3({ host: 'localhost', port: p.port, tls: 'implicit' }, USER, TOKEN, 'XOAUTH2');
      assert.equal(r.ok, false);
      assert.match(r.detail, /-ERR \[AUTH\] Invalid credentials \(status 400, scope https:\/\/mail\.google\.com\/\)/);
      assert.equal(p.seen[1], 'AUTH XOAUTH2');
      assert.equal(p.seen[3], '', 'XOAUTH2 wants an empty response after the error challenge');
    } finally {
      p.close();
    }
  });
});
