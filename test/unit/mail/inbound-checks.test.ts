// The pieces of the MX checks: removal of forged Authentication-Results (RFC 8601 §5), the header
// guard in front of the DKIM verifier, the policy table, and the caching DNS resolver against a
// loopback DNS server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authservIdOf, forgedAuthResults, rebuild } from '../../../src/mail/inbound/auth-results.ts';
import { headerFields } from '../../../src/mail/mime/header-fields.ts';
import { CachingResolver } from '../../../src/mail/inbound/dns-cache.ts';
import { decide, type InboundPolicy } from '../../../src/mail/inbound/policy.ts';
import { type SenderAuthResult, verifiableHeader } from '../../../src/mail/inbound/sender-auth.ts';
import { FakeClock } from '../../helpers/clock.ts';
import { startTestDns, type TestDns } from '../../helpers/dns-server.ts';

describe('forged Authentication-Results', () => {
  test('authserv-id: token or quoted string after CFWS, case-insensitive', () => {
    assert.equal(authservIdOf(' MX.Example.org; spf=pass'), 'mx.example.org');
    assert.equal(authservIdOf(' (comment (nested)) mx.example.org 1; none'), 'mx.example.org');
    assert.equal(authservIdOf(' "mx.example.org"; none'), 'mx.example.org');
    assert.equal(authservIdOf('mx.example.org;'), 'mx.example.org');
  });

  test('fields of our id go, folded lines with them; others and body lookalikes stay', async () => {
    const msg = Buffer.from(
      'Received: from a\r\n\tby b; Mon, 7 Dec 2026 10:00:00 +0000\r\n' +
        'authentication-results: MX.example.org;\r\n dkim=pass\r\n header.d=x.test\r\n' +
        'Authentication-Results: other.example; spf=pass\r\n' +
        'Authentication-Results : (c) mx.example.org; spf=pass\r\n' +
        'Subject: hi\r\n\r\nAuthentication-Results: mx.example.org; in the body\r\n',
    );
    const drop = await forgedAuthResults(msg, ['mx.example.org']);
    assert.equal(drop.length, 2);
    const out = (await rebuild(Buffer.from('Authentication-Results: mx.example.org; none\r\n'), msg, drop)).toString();
    assert.equal(
      out,
      'Authentication-Results: mx.example.org; none\r\n' +
        'Received: from a\r\n\tby b; Mon, 7 Dec 2026 10:00:00 +0000\r\n' +
        'Authentication-Results: other.example; spf=pass\r\n' +
        'Subject: hi\r\n\r\nAuthentication-Results: mx.example.org; in the body\r\n',
    );
  });

  test('X-Spam-* fields are found by name, adjacent ones as one range; a header-only message works', async () => {
    const msg = Buffer.from('X-Spam-Flag: NO\r\nSubject: x\r\nX-Spam-Status: No\r\nX-Spam-Score: 1\r\n');
    assert.deepEqual((await headerFields(msg, /x-spam-[!-9;-~]*/)).ranges, [
      [0, 17],
      [29, 65],
    ]);
  });

  test('an authserv-id hidden behind 4 KiB of comments counts as forged', async () => {
    const msg = Buffer.from(`Authentication-Results: (${'c'.repeat(5000)}) mx.example.org; spf=pass\r\nSubject: x\r\n\r\n`);
    assert.equal((await forgedAuthResults(msg, ['mx.example.org'])).length, 1);
  });

  test('a long run of colon-less lines is scanned in linear time, in windows', async () => {
    const msg = Buffer.from(`tag\r\n${'x\r\n'.repeat(400_000)}`);
    // no result to find, and the scan must end (quadratic would take minutes)
    assert.deepEqual(await forgedAuthResults(msg, ['mx.example.org']), []);
    // a forged field behind the run is still found, however far down the header section it is
    const forged = 'Authentication-Results: mx.example.org; spf=pass\r\n';
    const hidden = Buffer.concat([msg, Buffer.from(forged)]);
    assert.deepEqual(await forgedAuthResults(hidden, ['mx.example.org']), [[msg.length, msg.length + forged.length]]);
  });

  test('fields across window edges: folded over the edge, after a line longer than a window, and the header end', async () => {
    const window = 256 * 1024;
    for (const pad of [window - 60, window - 40, window - 2, window + 3]) {
      const head = `X-Pad: ${'p'.repeat(pad)}\r\n`;
      const forged = 'Authentication-Results: mx.example.org;\r\n spf=pass\r\n\tdkim=pass\r\n';
      const msg = Buffer.from(`${head}${forged}Subject: x\r\n\r\nAuthentication-Results: mx.example.org; body\r\n`);
      assert.deepEqual(await forgedAuthResults(msg, ['mx.example.org']), [[head.length, head.length + forged.length]], `pad ${pad}`);
    }
    const long = `X-Long: ${'l'.repeat(3 * window)}\r\n`;
    const last = 'X-Spam-Flag: YES\r\n';
    const msg = Buffer.from(`${long}${last}`);
    assert.deepEqual((await headerFields(msg, /x-spam-[!-9;-~]*/)).ranges, [[long.length, long.length + last.length]]);
    const split = Buffer.from(`${'X-A: b\r\n'.repeat(window / 8)}\r\nX-Spam-Flag: YES\r\n`);
    assert.deepEqual((await headerFields(split, /x-spam-[!-9;-~]*/)).ranges, [], 'a field after the empty line is body');
  });

  test('rebuild copies a large message in steps, dropping ranges that straddle them', async () => {
    const step = 2 * 1024 * 1024;
    const msg = Buffer.alloc(5 * step + 123);
    for (let i = 0; i < msg.length; i++) msg[i] = (i * 7) & 0xff;
    const drop = [
      [10, 20],
      [step - 5, step + 5],
      [3 * step, 4 * step + 1],
    ] as const;
    const out = await rebuild(Buffer.from('P: x\r\n'), msg, drop);
    const expected = Buffer.concat([
      Buffer.from('P: x\r\n'),
      msg.subarray(0, 10),
      msg.subarray(20, step - 5),
      msg.subarray(step + 5, 3 * step),
      msg.subarray(4 * step + 1),
    ]);
    assert.ok(out.equals(expected));
    assert.ok(out.buffer instanceof SharedArrayBuffer);
  });

  test('a header section of millions of lines never holds the event loop for long', async () => {
    const msg = Buffer.from(`${'x\r\n'.repeat(4_000_000)}Authentication-Results: mx.example.org; spf=pass\r\n`);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const found = await forgedAuthResults(msg, ['mx.example.org']);
    clearInterval(ticker);
    assert.equal(found.length, 1);
    // 12 MB in 256 KiB windows: the loop ran timers between windows (counted, never timed).
    assert.ok(turns >= 20, `timers ran ${turns} times during the scan`);
  });
});

describe('header guard in front of the DKIM verifier', () => {
  test('ordinary headers pass; many continuation or colon-less lines, or 1 MiB of header, do not', () => {
    assert.equal(verifiableHeader(Buffer.from('From: a@b.test\r\nSubject: x\r\n y\r\n\r\nbody\r\n')), true);
    assert.equal(verifiableHeader(Buffer.from(`${'X-A: 1\r\n'.repeat(5000)}\r\n`)), true);
    assert.equal(verifiableHeader(Buffer.from(`Subject: a\r\n${' x\r\n'.repeat(1001)}\r\nbody`)), false);
    assert.equal(verifiableHeader(Buffer.from(`tag\r\n${'x\r\n'.repeat(2000)}`)), false);
    assert.equal(verifiableHeader(Buffer.from(`X-Big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`)), false);
    // a huge body after a small header is fine
    assert.equal(verifiableHeader(Buffer.from(`From: a@b.test\r\n\r\n${'x\r\n'.repeat(100_000)}`)), true);
  });
});

describe('policy', () => {
  const policy: InboundPolicy = { dmarcReject: 'reject', spfFail: 'accept', allowDomains: [], denyDomains: [], spamReject: 'reject' };
  const auth = (over: Partial<{ spf: string; dkim: string; dmarc: string; p: string; from: string }> = {}): SenderAuthResult =>
    ({
      header: '',
      receivedSpf: '',
      spf: { result: over.spf ?? 'none', domain: 'env.test' },
      dkim: over.dkim ? [{ result: over.dkim, domain: 'sig.test' }] : [],
      dmarc: { result: over.dmarc ?? 'none', policy: over.p ?? '', fromDomain: over.from ?? 'from.test' },
      arc: 'none',
      timedOut: false,
    }) as SenderAuthResult;
  const spam = (action: string) => ({ action, score: 10, required: 15, symbols: [] });

  test('DMARC p=reject: 550 5.7.1, or Junk when configured to quarantine; p=quarantine: Junk; p=none: INBOX', () => {
    assert.deepEqual(
      { ...decide({ sender: 'a@env.test', auth: auth({ dmarc: 'fail', p: 'reject' }), spam: undefined, policy }), text: '' },
      { kind: 'reject', code: 550, enhanced: '5.7.1', text: '' },
    );
    const q = decide({
      sender: 'a@env.test',
      auth: auth({ dmarc: 'fail', p: 'reject' }),
      spam: undefined,
      policy: { ...policy, dmarcReject: 'quarantine' },
    });
    assert.deepEqual(q, { kind: 'junk', reason: 'dmarc-reject' });
    assert.equal(decide({ sender: '', auth: auth({ dmarc: 'fail', p: 'quarantine' }), spam: undefined, policy }).kind, 'junk');
    assert.equal(decide({ sender: '', auth: auth({ dmarc: 'fail', p: 'none' }), spam: undefined, policy }).kind, 'inbox');
    assert.equal(decide({ sender: '', auth: auth({ dmarc: 'temperror', p: 'reject' }), spam: undefined, policy }).kind, 'inbox');
  });

  test('SPF fail follows spf_fail unless DMARC passed', () => {
    const a = auth({ spf: 'fail' });
    assert.equal(decide({ sender: 'a@env.test', auth: a, spam: undefined, policy }).kind, 'inbox');
    assert.equal(decide({ sender: 'a@env.test', auth: a, spam: undefined, policy: { ...policy, spfFail: 'junk' } }).kind, 'junk');
    const r = decide({ sender: 'a@env.test', auth: a, spam: undefined, policy: { ...policy, spfFail: 'reject' } });
    assert.equal(r.kind === 'reject' && r.enhanced, '5.7.23');
    const passed = auth({ spf: 'fail', dmarc: 'pass' });
    assert.equal(decide({ sender: 'a@env.test', auth: passed, spam: undefined, policy: { ...policy, spfFail: 'reject' } }).kind, 'inbox');
  });

  test('deny lists match envelope or author domain and subdomains; allow lists need an authenticated domain', () => {
    const deny = { ...policy, denyDomains: ['bad.test'] };
    assert.equal(decide({ sender: 'x@mail.bad.test', auth: auth(), spam: undefined, policy: deny }).kind, 'reject');
    assert.equal(decide({ sender: 'x@ok.test', auth: auth({ from: 'bad.test' }), spam: undefined, policy: deny }).kind, 'reject');
    assert.equal(decide({ sender: 'x@notbad.test', auth: auth({ from: 'notbad.test' }), spam: undefined, policy: deny }).kind, 'inbox');
    const allow = { ...policy, allowDomains: ['sig.test', 'from.test'] };
    // DKIM pass for an allowed domain overrides a DMARC reject and a spam reject
    const forwarded = auth({ dkim: 'pass', dmarc: 'fail', p: 'reject' });
    assert.equal(decide({ sender: '', auth: forwarded, spam: spam('reject'), policy: allow }).kind, 'inbox');
    // the same domain merely claimed (no pass) gains nothing
    const claimed = auth({ dkim: 'fail', dmarc: 'fail', p: 'reject' });
    assert.equal(decide({ sender: '', auth: claimed, spam: undefined, policy: allow }).kind, 'reject');
  });

  test('rspamd actions: reject, soft reject/greylist (451), add header/rewrite subject (Junk), no action', () => {
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('reject'), policy }).kind, 'reject');
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('reject'), policy: { ...policy, spamReject: 'junk' } }).kind, 'junk');
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('soft reject'), policy }).kind, 'tempfail');
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('greylist'), policy }).kind, 'tempfail');
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('add header'), policy }).kind, 'junk');
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('rewrite subject'), policy }).kind, 'junk');
    assert.equal(decide({ sender: '', auth: undefined, spam: spam('no action'), policy }).kind, 'inbox');
  });
});

describe('caching DNS resolver (loopback DNS server)', () => {
  let dns: TestDns;
  before(async () => {
    dns = await startTestDns();
    dns.set('spf.test', 'TXT', ['v=spf1 -all']);
    dns.set('long.test', 'TXT', [`v=DKIM1; p=${'A'.repeat(600)}`]);
    dns.fail('fail.test');
    dns.hang('hang.test');
  });
  after(() => dns.close());

  const resolver = (clock: FakeClock, timeoutMs = 5000) =>
    new CachingResolver({ servers: [dns.server], timeoutMs, ttlMs: 60_000, maxEntries: 2, clock });

  test('answers are cached until their time is up; strings over 255 octets come back split', async () => {
    const clock = new FakeClock();
    const r = resolver(clock);
    assert.deepEqual(await r.resolve('spf.test', 'TXT'), [['v=spf1 -all']]);
    assert.deepEqual(await r.resolve('SPF.test.', 'TXT'), [['v=spf1 -all']]);
    assert.equal(r.queries, 1);
    clock.sleep(60_001);
    await r.resolve('spf.test', 'TXT');
    assert.equal(r.queries, 2);
    const long = (await r.resolve('long.test', 'TXT')) as string[][];
    assert.equal(long[0]!.join('').length, 'v=DKIM1; p='.length + 600);
  });

  test('NXDOMAIN and NODATA are cached; SERVFAIL is not; the cache keeps at most maxEntries', async () => {
    const r = resolver(new FakeClock());
    await assert.rejects(r.resolve('nothing.test', 'TXT'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolve('nothing.test', 'TXT'), { code: 'ENOTFOUND' });
    assert.equal(r.queries, 1);
    await assert.rejects(r.resolve('spf.test', 'A'), { code: 'ENODATA' });
    await assert.rejects(r.resolve('fail.test', 'TXT'), { code: 'ESERVFAIL' });
    await assert.rejects(r.resolve('fail.test', 'TXT'), { code: 'ESERVFAIL' });
    assert.equal(r.queries, 4);
    await r.resolve('spf.test', 'TXT');
    // nothing.test (the oldest of three) was pushed out
    await assert.rejects(r.resolve('nothing.test', 'TXT'), { code: 'ENOTFOUND' });
    assert.equal(r.queries, 6);
  });

  test('a server that never answers gives ETIMEOUT, and concurrent questions share one query', async () => {
    const r = resolver(new FakeClock(), 1000);
    const before = dns.queries.filter((q) => q === 'TXT hang.test').length;
    const both = await Promise.allSettled([r.resolve('hang.test', 'TXT'), r.resolve('hang.test', 'TXT')]);
    for (const s of both) assert.equal(s.status === 'rejected' && (s.reason as { code: string }).code, 'ETIMEOUT');
    assert.equal(r.queries, 1);
    assert.ok(dns.queries.filter((q) => q === 'TXT hang.test').length > before);
  });
});
