// The process logger redacts credentials wherever a caller puts them (issue 2: pino logs that
// redact secrets; STANDARDS.md §9.12).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger } from '../../../src/core/log.ts';

function capture(): { lines: string[]; sink: NodeJS.WritableStream } {
  const lines: string[] = [];
  const sink = {
    write(line: string) {
      lines.push(line);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  return { lines, sink };
}

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
