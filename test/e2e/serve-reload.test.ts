// SIGHUP's configuration reload (src/cli/reload.ts) applied to a running node: a shorter
// limits.prelogin_timeout closes the POP3 and IMAP connections accepted after the reload, while a
// connection accepted before it keeps the timer it started with; the reload reports the keys it
// applied and those that need a restart.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { reloadConfig } from '../../src/cli/reload.ts';
import type { Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/core/log.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

describe('SIGHUP reload of connection timeouts', () => {
  let server: TestServer;
  let logged = '';
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk, _enc, done) {
        logged += chunk;
        done();
      },
    }),
    'json',
  );

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  it('gives connections accepted after the reload the new pre-login timeout, and leaves open ones theirs', async () => {
    assert.equal(server.config.limits.prelogin_timeout, 60_000);
    const before = await LineClient.connect(server.ports.pop3);
    assert.match((await before.line()) ?? '', /^\+OK/);

    const next = {
      ...server.config,
      limits: { ...server.config.limits, prelogin_timeout: 1000 },
      smtp: { ...server.config.smtp, port: server.config.smtp.port + 1 },
    } as Config;
    const { applied, restart } = reloadConfig(server.config, next, server.server, logger);
    assert.deepEqual(applied, ['limits.prelogin_timeout']);
    assert.deepEqual(restart, ['smtp.port']);
    assert.match(logged, /"keys":\["smtp.port"\].*needs restart/);

    const pop = await LineClient.connect(server.ports.pop3);
    assert.match((await pop.line()) ?? '', /^\+OK/);
    const imap = await LineClient.connect(server.ports.imaps, { tls: true, ca: server.ca });
    assert.match((await imap.line()) ?? '', /^\* OK/);
    // Far below the 60 s the server started with: the reloaded 1 s timer closed them.
    assert.match((await pop.line(10_000)) ?? '', /^-ERR/);
    await pop.closedByPeer(10_000);
    assert.equal(await imap.line(10_000), '* BYE Autologout; idle for too long');
    await imap.closedByPeer(10_000);

    // The connection from before the reload has been idle longer than the new timeout, and is still served.
    before.write('CAPA\r\n');
    assert.match((await before.line()) ?? '', /^\+OK/);
    before.close();
  });
});
