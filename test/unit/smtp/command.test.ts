import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand, parsePath } from '../../../src/protocols/smtp/command.ts';

describe('SMTP command parser (RFC 5321 §4.1)', () => {
  it('parses the verbs with their arguments', () => {
    assert.deepEqual(parseCommand('ehlo client.example'), { verb: 'EHLO', domain: 'client.example' });
    assert.deepEqual(parseCommand('HELO [192.0.2.1]'), { verb: 'HELO', domain: '[192.0.2.1]' });
    const mail = parseCommand('MAIL FROM:<alice@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8');
    assert.equal(mail.verb, 'MAIL');
    if (mail.verb === 'MAIL') {
      assert.equal(mail.address, 'alice@example.com');
      assert.deepEqual(
        [...mail.params],
        [
          ['SIZE', '1000'],
          ['BODY', '8BITMIME'],
          ['SMTPUTF8', true],
        ],
      );
    }
    assert.deepEqual(parseCommand('BDAT 100 LAST'), { verb: 'BDAT', size: 100, last: true });
    assert.deepEqual(parseCommand('bdat 0'), { verb: 'BDAT', size: 0, last: false });
    assert.deepEqual(parseCommand('AUTH plain AGFAYgBj'), { verb: 'AUTH', mechanism: 'PLAIN', initial: 'AGFAYgBj' });
    assert.deepEqual(parseCommand('AUTH LOGIN'), { verb: 'AUTH', mechanism: 'LOGIN', initial: undefined });
    assert.deepEqual(parseCommand('NOOP anything'), { verb: 'NOOP' });
  });

  it('accepts the null sender, a space after the colon, source routes, quoted local parts and <postmaster>', () => {
    const nul = parseCommand('MAIL FROM:<>');
    assert.ok(nul.verb === 'MAIL' && nul.address === '');
    const sp = parseCommand('MAIL FROM: <a@b.example>');
    assert.ok(sp.verb === 'MAIL' && sp.address === 'a@b.example');
    assert.equal(parsePath('<@relay.example:user@host.example>', false)?.address, 'user@host.example');
    assert.equal(parsePath('<"john"@x.example>', false)?.address, 'john@x.example');
    assert.equal(parsePath('<"john doe"@x.example>', false)?.address, '"john doe"@x.example');
    const pm = parseCommand('RCPT TO:<Postmaster>');
    assert.ok(pm.verb === 'RCPT' && pm.address === 'postmaster');
    const utf8 = parseCommand('RCPT TO:<jos\u00e9@ex\u00e4mple.example>');
    assert.ok(utf8.verb === 'RCPT' && utf8.address === 'jos\u00e9@ex\u00e4mple.example');
  });

  it('gives the RFC reply for bad syntax', () => {
    const code = (line: string) => {
      const c = parseCommand(line);
      return c.verb === 'invalid' ? `${c.reply.code} ${c.reply.status}` : c.verb;
    };
    assert.equal(code('MAIL FROM:<>'), 'MAIL');
    assert.equal(code('RCPT TO:<>'), '501 5.1.3');
    assert.equal(code('MAIL TO:<a@b.example>'), '501 5.5.4');
    assert.equal(code('MAIL FROM:a@b.example'), '501 5.1.3');
    assert.equal(code('MAIL FROM:<a@b.example>SIZE=1'), '501 5.5.4');
    assert.equal(code('MAIL FROM:<a@b.example> =x'), '501 5.5.4');
    assert.equal(code('MAIL FROM:<a..b@c.example>'), '501 5.1.3');
    assert.equal(code('MAIL FROM:<a@-bad-.example>'), '501 5.1.3');
    assert.equal(code('EHLO'), '501 5.5.4');
    assert.equal(code('DATA now'), '501 5.5.4');
    assert.equal(code('BDAT x'), '501 5.5.4');
    assert.equal(code('XYZZY'), '500 5.5.2');
    assert.equal(code(''), '500 5.5.2');
  });

  it('never throws on random input', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = 'MAILFROM:RCPTO<>@."\\ =\x00\x7f\u00e9abcdefBDAT 0123456789[]IPv6:';
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rnd() * 60);
      let s = ['MAIL FROM:', 'RCPT TO:', 'BDAT ', 'AUTH ', 'EHLO ', ''][Math.floor(rnd() * 6)]!;
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      parseCommand(s);
    }
  });
});
