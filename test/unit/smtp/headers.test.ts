import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { receivedHeader, rfc5322Date, withKeyword } from '../../../src/protocols/smtp/received.ts';
import { formatReply, reply } from '../../../src/protocols/smtp/reply.ts';
import { completeSubmission } from '../../../src/protocols/smtp/submission-headers.ts';

describe('Received header (RFC 5321 §4.4) and the with keyword (RFC 3848, RFC 6531)', () => {
  it('names the protocol variant', () => {
    const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
    assert.equal(withKeyword({ esmtp: false, authenticated: false, smtputf8: false }), 'SMTP');
    assert.equal(withKeyword({ esmtp: true, authenticated: false, smtputf8: false }), 'ESMTP');
    assert.equal(withKeyword({ esmtp: true, tls, authenticated: true, smtputf8: false }), 'ESMTPSA');
    assert.equal(withKeyword({ esmtp: true, tls, authenticated: false, smtputf8: true }), 'UTF8SMTPS');
  });

  it('is folded, has for only with one recipient, and neutralises hostile EHLO names', () => {
    const base = {
      helo: 'client.example',
      remoteAddress: '192.0.2.7',
      by: 'mx.example',
      esmtp: true,
      authenticated: false,
      smtputf8: false,
      id: 'abc',
      at: Date.UTC(2026, 0, 5, 9, 3, 7),
    };
    assert.equal(
      receivedHeader({ ...base, recipients: ['a@mx.example'] }),
      'Received: from client.example ([192.0.2.7])\r\n\tby mx.example with ESMTP id abc\r\n\tfor <a@mx.example>; Mon, 5 Jan 2026 09:03:07 +0000\r\n',
    );
    assert.equal(
      receivedHeader({ ...base, remoteAddress: '2001:db8::1', recipients: ['a@x', 'b@x'] }),
      'Received: from client.example ([IPv6:2001:db8::1])\r\n\tby mx.example with ESMTP id abc; Mon, 5 Jan 2026 09:03:07 +0000\r\n',
    );
    assert.doesNotMatch(receivedHeader({ ...base, helo: 'evil)\r\nX-Injected: 1', recipients: [] }), /X-Injected: 1\r\n/);
  });

  it('formats dates as RFC 5322 date-time', () => {
    assert.equal(rfc5322Date(Date.UTC(2026, 10, 22, 20, 5, 36)), 'Sun, 22 Nov 2026 20:05:36 +0000');
  });
});

describe('replies (RFC 5321 §4.2, RFC 2034)', () => {
  it('renders single and multi-line replies with enhanced codes', () => {
    assert.equal(formatReply(reply(250, '2.1.0', 'Ok')), '250 2.1.0 Ok\r\n');
    assert.equal(formatReply(reply(250, undefined, ['host', 'SIZE 10', 'CHUNKING'])), '250-host\r\n250-SIZE 10\r\n250 CHUNKING\r\n');
    assert.equal(formatReply(reply(334, undefined, '')), '334 \r\n');
    assert.equal(formatReply(reply(550, '5.1.1', 'a\r\nb')), '550 5.1.1 a  b\r\n');
  });
});

describe('submission completes Date and Message-ID (RFC 6409 §8)', () => {
  it('adds what is missing at the end of the header, keeps the rest byte for byte', async () => {
    const out = (await completeSubmission(Buffer.from('Subject: x\r\n\r\nbody\r\n'), 'mail.example', Date.UTC(2026, 0, 1))).toString();
    assert.match(
      out,
      /^Subject: x\r\nDate: Thu, 1 Jan 2026 00:00:00 \+0000\r\nMessage-ID: <[A-Za-z0-9_-]+@mail\.example>\r\n\r\nbody\r\n$/,
    );
    const full = Buffer.from('Date: x\r\nmessage-id: <a@b>\r\n\r\nbody\r\n');
    assert.equal(await completeSubmission(full, 'mail.example', 0), full);
    assert.match((await completeSubmission(Buffer.from('Subject: only header'), 'h', 0)).toString(), /^Subject: only header\r\nDate: /);
    // A field named like Date but longer is not Date; one after the empty line is body.
    const lookalike = (await completeSubmission(Buffer.from('Dates: x\r\nMessage-ID: <a@b>\r\n\r\nDate: y\r\n'), 'h', 0)).toString();
    assert.match(lookalike, /^Dates: x\r\nMessage-ID: <a@b>\r\nDate: [^\r]+\r\n\r\nDate: y\r\n$/);
  });

  it('a header section of millions of lines is completed in windows, the loop turning between them', async () => {
    const message = Buffer.from(`${'x\r\n'.repeat(3_000_000)}Message-ID: <a@b>\r\n`);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const out = await completeSubmission(message, 'h', 0);
    clearInterval(ticker);
    assert.equal(out.length, message.length + 'Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n'.length);
    assert.ok(turns >= 10, `timers ran ${turns} times`);
  });
});
