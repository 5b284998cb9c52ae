// The counts daily DMARC (RFC 7489 §7.2) and TLS-RPT (RFC 8460) reports are built from, on SQLite
// and PostgreSQL: a repeated message or session adds to its row, days before the given one are
// pending until marked sent, and the built report carries the counts (parsed back as JSON/XML).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { dmarcReportXml, parseDestination, tlsReportJson } from '../../../src/mail/reports/daily-reports.ts';
import { ReportStore } from '../../../src/mail/reports/report-store.ts';
import type { Db } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { openTestDb } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const T = Date.parse('2026-12-07T10:00:00Z');

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`report counts (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dispose: () => Promise<void> = async () => {};
    let store: ReportStore;

    before(async () => {
      ({ db, dispose } = await openTestDb(dialect, 'fp-reports-unit-'));
      store = new ReportStore(db);
    });
    after(async () => {
      await dispose();
    });

    const dmarc = {
      policyDomain: 'a.example',
      rua: ['mailto:r@a.example'],
      published: { adkim: 'r', aspf: 's', p: 'reject', sp: 'reject', pct: 100 },
      headerFrom: 'a.example',
      sourceIp: '192.0.2.1',
      disposition: 'none' as const,
      dkim: 'pass' as const,
      spf: 'fail' as const,
      authResults: { dkim: [{ domain: 'a.example', result: 'pass' }], spf: [{ domain: 'b.example', result: 'fail' }] },
    };

    it('adds repeated results to one row and lists days before the given one until sent', async () => {
      await store.addDmarc(T, dmarc);
      await store.addDmarc(T + 1000, dmarc);
      await store.addDmarc(T, { ...dmarc, sourceIp: '192.0.2.2<&>', disposition: 'reject', dkim: 'fail' });
      await store.addTls(T, {
        policyDomain: 'a.example',
        policy: { type: 'sts', strings: ['mode: enforce'], mxHost: ['mx.a.example'] },
        result: '',
        receivingMx: 'mx.a.example',
      });
      await store.addTls(T, {
        policyDomain: 'a.example',
        policy: { type: 'sts', strings: ['mode: enforce'], mxHost: ['mx.a.example'] },
        result: '',
        receivingMx: 'mx.a.example',
      });
      await store.addTls(T, {
        policyDomain: 'a.example',
        policy: { type: 'sts', strings: ['mode: enforce'], mxHost: ['mx.a.example'] },
        result: 'certificate-not-trusted',
        receivingMx: 'mx.a.example',
      });
      assert.deepEqual(await store.pending('dmarc', '2026-12-07'), []);
      assert.deepEqual(await store.pending('dmarc', '2026-12-08'), [{ domain: 'a.example', day: '2026-12-07' }]);
      const rows = await store.dmarcRows('a.example', '2026-12-07');
      assert.deepEqual(
        rows.map((r) => [r.sourceIp, r.messages]),
        [
          ['192.0.2.1', 2],
          ['192.0.2.2<&>', 1],
        ],
      );
      await store.markSent('dmarc', 'a.example', '2026-12-07', T, 'sent');
      assert.deepEqual(await store.pending('dmarc', '2026-12-08'), []);
      assert.deepEqual(await store.pending('tlsrpt', '2026-12-08'), [{ domain: 'a.example', day: '2026-12-07' }]);

      const xml = dmarcReportXml({ orgName: 'o', email: 'p@o', reportId: 'id1', domain: 'a.example', day: '2026-12-07', rows });
      const feedback = new XMLParser({ isArray: (name) => name === 'record' }).parse(xml).feedback;
      assert.equal(feedback.policy_published.aspf, 's');
      assert.equal(feedback.record[1].row.source_ip, '192.0.2.2<&>', 'escaped and read back');
      assert.equal(feedback.record[0].row.count, 2);
      assert.equal(feedback.report_metadata.date_range.begin, Date.parse('2026-12-07T00:00:00Z') / 1000);

      const json = tlsReportJson({
        orgName: 'o',
        contact: 'p@o',
        reportId: 'id2',
        domain: 'a.example',
        day: '2026-12-07',
        rows: await store.tlsRows('a.example', '2026-12-07'),
      }) as {
        policies: Array<{ summary: object; 'failure-details': object[] }>;
      };
      assert.deepEqual(json.policies[0]!.summary, { 'total-successful-session-count': 2, 'total-failure-session-count': 1 });
      assert.deepEqual(json.policies[0]!['failure-details'], [
        { 'result-type': 'certificate-not-trusted', 'receiving-mx-hostname': 'mx.a.example', 'failed-session-count': 1 },
      ]);
    });
  });
}

describe('report destinations (RFC 7489 §6.2, RFC 8460 §3)', () => {
  it('parses size limits and refuses other schemes', () => {
    assert.deepEqual(parseDestination('mailto:r@a.example!10m'), { uri: 'mailto:r@a.example', maxBytes: 10 * 1024 * 1024 });
    assert.deepEqual(parseDestination('https://r.example/tlsrpt'), { uri: 'https://r.example/tlsrpt' });
    assert.equal(parseDestination('http://r.example/'), undefined);
    assert.equal(parseDestination('mailto:nobody'), undefined);
  });
});
