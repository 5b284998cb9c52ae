// The process logger redacts credentials wherever a caller puts them, and
// writes JSON lines for collectors or readable lines on a terminal (log.format).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { createLogger } from '../../../src/core/log.ts';

function capture(isTTY = false): { lines: string[]; sink: NodeJS.WritableStream } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  if (isTTY) Object.assign(sink, { isTTY: true });
  return { lines, sink };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

it('redacts passwords, tokens, SASL payloads, OAuth codes and auth headers, top level and one level down', () => {
  const { lines, sink } = capture();
  const log = createLogger('info', sink);
  const secrets = {
    password: 'pw-top',
    secret: 'app-secret',
    token: 'tok-top',
    access_token: 'at-top',
    refresh_token: 'rt-top',
    id_token: 'idt-top',
    code: 'code-top',
    code_verifier: 'verifier-top',
    client_secret: 'cs-top',
    client_assertion: 'ca-top',
    sasl: 'AGFsaWNlAHB3',
    body: {
      password: 'pw-nested',
      token: 'tok-nested',
      refresh_token: 'rt-nested',
      client_secret: 'cs-nested',
      sasl: 'sasl-nested',
      id_token: 'idt-nested',
      client_assertion: 'ca-nested',
      assertion: 'as-nested',
    },
    req: {
      headers: { authorization: 'Bearer hdr-token', cookie: 'fp_oidc_session=cookie-value', 'x-fingerpost-gateway-secret': 'gw-secret' },
    },
    res: { headers: { 'set-cookie': 'fp_oidc_session=set-cookie-value' } },
  };
  log.info({ ...secrets, user: 'alice@example.test' }, 'auth');
  log.flush?.();
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  for (const value of [
    'pw-top',
    'app-secret',
    'tok-top',
    'at-top',
    'rt-top',
    'idt-top',
    'code-top',
    'verifier-top',
    'cs-top',
    'ca-top',
    'AGFsaWNlAHB3',
    'pw-nested',
    'tok-nested',
    'rt-nested',
    'cs-nested',
    'sasl-nested',
    'idt-nested',
    'ca-nested',
    'as-nested',
    'hdr-token',
    'cookie-value',
    'gw-secret',
    'set-cookie-value',
  ])
    assert.ok(!line.includes(value), `${value} reached the log: ${line}`);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.equal(parsed.password, '[redacted]');
  assert.equal(parsed.user, 'alice@example.test', 'what is not a secret stays');
  assert.equal(parsed.msg, 'auth');
});

it('writes readable lines on a terminal (log.format auto) or when asked (pretty), JSON otherwise, redacted alike', async () => {
  const tty = capture(true);
  createLogger('info', tty.sink).info({ password: 'pw-pretty', user: 'alice@example.test', component: 'auth' }, 'signed in');
  const piped = capture();
  createLogger('info', piped.sink).info({ user: 'alice@example.test' }, 'signed in');
  const forced = capture();
  createLogger('info', forced.sink, 'pretty').warn({ token: 'tok-pretty' }, 'careful');
  const json = capture(true);
  createLogger('info', json.sink, 'json').info('still json');
  await settle();

  const line = tty.lines.join('');
  assert.match(line, /^\S*\[?\d\d:\d\d:\d\d\.\d{3}\]?\S* \S*INFO\S*.*signed in/, line);
  assert.doesNotMatch(line, /^\{/, 'not JSON on a terminal');
  assert.match(line, /alice@example\.test/);
  assert.doesNotMatch(line, /pw-pretty/, 'redacted before it is made pretty');
  assert.doesNotMatch(line, /"service"/);
  assert.equal(JSON.parse(piped.lines[0]!).msg, 'signed in', 'JSON when the output is not a terminal');
  const warned = forced.lines.join('');
  assert.match(warned, /WARN.*careful/);
  assert.doesNotMatch(warned, /tok-pretty/);
  assert.doesNotMatch(warned, /\x1b\[/, 'no colours when the output is not a terminal');
  assert.equal(JSON.parse(json.lines[0]!).msg, 'still json', 'log.format json even on a terminal');
});
