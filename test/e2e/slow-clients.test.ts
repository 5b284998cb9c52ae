// Clients that connect and then dawdle (slowloris): HTTPS requests whose headers never finish and
// connections that never send a request are closed after http.headers_timeout; IMAP, POP3 and
// submission connections that never sign in are closed after limits.prelogin_timeout, while a
// signed-in session keeps the long idle timeout. Every such close is counted in /metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

async function metric(server: TestServer, line: RegExp): Promise<number> {
  const text = await (await caFetch(server.ca)(`${server.baseUrl}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(' ') + 1)) : 0;
}

describe('slow clients', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      overrides: { http: { headers_timeout: '1s', request_timeout: '2s' }, limits: { prelogin_timeout: '1s' } },
    });
  });
  after(async () => {
    await server?.close();
  });

  it('answers an HTTPS request whose headers never finish with 408 and closes it', async () => {
    const c = await LineClient.connect(server.ports.https, { tls: true, ca: server.ca });
    c.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    assert.equal(await c.line(10_000), 'HTTP/1.1 408 Request Timeout');
    await c.closedByPeer(10_000);
    assert.ok((await metric(server, /^fingerpost_http_timeouts_total\{kind="request"\}/)) >= 1);
  });

  it('closes an HTTPS connection that never starts a request', async () => {
    const c = await LineClient.connect(server.ports.https, { tls: true, ca: server.ca });
    await c.closedByPeer(10_000);
    assert.ok((await metric(server, /^fingerpost_http_timeouts_total\{kind="first_request"\}/)) >= 1);
    // A client that does send its request is served as before.
    assert.equal((await caFetch(server.ca)(`${server.baseUrl}/healthz`)).status, 200);
  });

  it('says goodbye to an IMAP connection that never signs in, but not to a signed-in one', async () => {
    const member = await LineClient.connect(server.ports.imaps, { tls: true, ca: server.ca });
    assert.match((await member.line()) ?? '', /^\* OK/);
    member.write(`a LOGIN ${server.admin.address} ${JSON.stringify(server.admin.password)}\r\n`);
    assert.match((await member.until(/^a /)).at(-1) ?? '', /^a OK/);

    const idle = await LineClient.connect(server.ports.imaps, { tls: true, ca: server.ca });
    assert.match((await idle.line()) ?? '', /^\* OK/);
    assert.equal(await idle.line(10_000), '* BYE Autologout; idle for too long');
    await idle.closedByPeer(10_000);

    // Signed in before the other connected, the member is past the pre-login timeout and still served.
    member.write('b NOOP\r\n');
    assert.match((await member.until(/^b /)).at(-1) ?? '', /^b OK/);
    member.close();
    assert.ok((await metric(server, /^fingerpost_connections_timed_out_total\{listener="imaps",phase="prelogin"\}/)) >= 1);
  });

  it('says goodbye to POP3 and submission connections that never sign in', async () => {
    const pop = await LineClient.connect(server.ports.pop3);
    assert.match((await pop.line()) ?? '', /^\+OK/);
    const submission = await LineClient.connect(server.ports.submission);
    assert.match((await submission.line()) ?? '', /^220 /);
    assert.match((await pop.line(10_000)) ?? '', /^-ERR/);
    assert.match((await submission.line(10_000)) ?? '', /^421 4\.4\.2 /);
    await pop.closedByPeer(10_000);
    await submission.closedByPeer(10_000);
  });
});
