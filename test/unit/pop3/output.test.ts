import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { multiline, topOf } from '../../../src/protocols/pop3/wire/output.ts';

describe('POP3 multi-line responses (RFC 1939 §3, §7)', () => {
  it('byte-stuffs lines starting with a dot and terminates with CRLF.CRLF', () => {
    assert.equal(multiline(Buffer.from('a\r\n.b\r\n..c\r\n')).toString(), 'a\r\n..b\r\n...c\r\n.\r\n');
    assert.equal(multiline(Buffer.from('no final newline')).toString(), 'no final newline\r\n.\r\n');
    assert.equal(multiline(Buffer.from('bare\nlf\n.x\n')).toString(), 'bare\r\nlf\r\n..x\r\n.\r\n');
    assert.equal(multiline(Buffer.from([0xe9, 0x0d, 0x0a])).toString('latin1'), '\u00e9\r\n.\r\n');
  });

  it('TOP returns the header, the blank line and n body lines', () => {
    const raw = Buffer.from('Subject: s\r\nFrom: f\r\n\r\nl1\r\nl2\r\nl3\r\n');
    assert.equal(topOf(raw, 0).toString(), 'Subject: s\r\nFrom: f\r\n\r\n');
    assert.equal(topOf(raw, 2).toString(), 'Subject: s\r\nFrom: f\r\n\r\nl1\r\nl2\r\n');
    assert.equal(topOf(raw, 10).toString(), raw.toString());
  });
});
