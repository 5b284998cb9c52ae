import { type Clock, systemClock } from '../../core/clock.ts';
import type { Db } from '../../store/db.ts';
import { type DmarcAggregateReport, type DmarcReportRecord, parseAggregateReport, reportDocuments } from './dmarc-report.ts';

/** A stored report, as the CLI lists it. */
export interface StoredDmarcReport extends Omit<DmarcAggregateReport, 'records'> {
  readonly id: number;
  readonly messages: number;
  readonly failed: number;
  readonly receivedAt: number;
}

/** What one message to a report address gave. */
export interface CollectOutcome {
  readonly stored: number;
  readonly duplicates: number;
  readonly errors: readonly string[];
}

/** A row failed DMARC when neither aligned DKIM nor aligned SPF passed (RFC 7489 §4.2). */
const failed = (r: DmarcReportRecord) => r.dkim !== 'pass' && r.spf !== 'pass';

/**
 * DMARC aggregate reports received for our domains (RFC 7489 §7.2): read from messages sent to a
 * report address, kept once per (reporting organisation, report id), listed for the operator.
 */
export class DmarcReports {
  readonly #db: Db;
  readonly #clock: Clock;

  constructor(db: Db, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Reads every report in a message and stores the new ones; a bad report is an error entry, never a throw. */
  async collect(raw: Buffer): Promise<CollectOutcome> {
    const errors: string[] = [];
    let stored = 0;
    let duplicates = 0;
    let docs: Buffer[] = [];
    try {
      docs = reportDocuments(raw);
    } catch (err) {
      errors.push((err as Error).message);
    }
    if (!docs.length && !errors.length) errors.push('no report attachment (XML, gzip or zip) found');
    for (const doc of docs) {
      let report: DmarcAggregateReport;
      try {
        report = parseAggregateReport(doc);
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      (await this.#store(report)) ? stored++ : duplicates++;
    }
    return { stored, duplicates, errors };
  }

  async #store(r: DmarcAggregateReport): Promise<boolean> {
    const result = await this.#db.kysely
      .insertInto('dmarc_reports')
      .values({
        org_name: r.orgName,
        email: r.email,
        report_id: r.reportId,
        domain: r.domain,
        policy: r.policy,
        begin_at: r.begin,
        end_at: r.end,
        messages: r.records.reduce((n, rec) => n + rec.count, 0),
        failed: r.records.filter(failed).reduce((n, rec) => n + rec.count, 0),
        records: JSON.stringify(r.records),
        received_at: this.#clock.now(),
      })
      .onConflict((oc) => oc.columns(['org_name', 'report_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Reports newest first, optionally for one domain. */
  async list(options: { domain?: string; limit?: number } = {}): Promise<StoredDmarcReport[]> {
    let q = this.#db.kysely.selectFrom('dmarc_reports').selectAll().orderBy('end_at', 'desc').orderBy('id', 'desc');
    if (options.domain) q = q.where('domain', '=', options.domain.toLowerCase());
    const rows = await q.limit(options.limit ?? 100).execute();
    return rows.map((row) => ({
      id: Number(row.id),
      orgName: row.org_name,
      email: row.email,
      reportId: row.report_id,
      domain: row.domain,
      policy: row.policy,
      begin: Number(row.begin_at),
      end: Number(row.end_at),
      messages: Number(row.messages),
      failed: Number(row.failed),
      receivedAt: Number(row.received_at),
    }));
  }

  /** One report's rows. */
  async records(id: number): Promise<DmarcReportRecord[] | undefined> {
    const row = await this.#db.kysely.selectFrom('dmarc_reports').select('records').where('id', '=', id).executeTakeFirst();
    return row ? (JSON.parse(row.records) as DmarcReportRecord[]) : undefined;
  }
}
