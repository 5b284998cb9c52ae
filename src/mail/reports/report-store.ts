import { sql } from 'kysely';
import type { Db } from '../../store/db.ts';

/** UTC day of a time, `YYYY-MM-DD`. */
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** One aggregate row of inbound DMARC results (RFC 7489 appendix C `record`). */
export interface DmarcResultRow {
  readonly policyDomain: string;
  readonly rua: readonly string[];
  readonly published: { readonly adkim: string; readonly aspf: string; readonly p: string; readonly sp: string; readonly pct: number };
  readonly headerFrom: string;
  readonly sourceIp: string;
  readonly disposition: 'none' | 'quarantine' | 'reject';
  readonly dkim: 'pass' | 'fail';
  readonly spf: 'pass' | 'fail';
  readonly authResults: {
    readonly dkim: ReadonlyArray<{ readonly domain: string; readonly result: string }>;
    readonly spf: ReadonlyArray<{ readonly domain: string; readonly result: string }>;
  };
  readonly messages: number;
}

/** One row of TLS session counts (RFC 8460 §4.4); `result` '' counts successes. */
export interface TlsRptRow {
  readonly policyDomain: string;
  readonly policy: { readonly type: string; readonly strings: readonly string[]; readonly mxHost?: readonly string[] };
  readonly result: string;
  readonly receivingMx: string;
  readonly sessions: number;
}

export type ReportKind = 'dmarc' | 'tlsrpt';

/**
 * The counts daily reports are built from, shared by every node: a message or a session adds one
 * to its row (insert, or add on conflict), and each (kind, domain, day) report is marked once sent.
 */
export class ReportStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Counts one inbound message's DMARC result (RFC 7489 §7.2). */
  async addDmarc(at: number, row: Omit<DmarcResultRow, 'messages'>): Promise<void> {
    await this.#db.kysely
      .insertInto('dmarc_results')
      .values({
        day: dayOf(at),
        policy_domain: row.policyDomain,
        rua: row.rua.join(' '),
        policy: JSON.stringify(row.published),
        header_from: row.headerFrom,
        source_ip: row.sourceIp,
        disposition: row.disposition,
        dkim: row.dkim,
        spf: row.spf,
        auth_results: JSON.stringify(row.authResults),
        messages: 1,
      })
      .onConflict((oc) =>
        oc
          .columns(['day', 'policy_domain', 'policy', 'header_from', 'source_ip', 'disposition', 'dkim', 'spf', 'auth_results'])
          .doUpdateSet({ messages: sql`dmarc_results.messages + 1`, rua: row.rua.join(' ') }),
      )
      .execute();
  }

  /** Counts one outbound TLS session under a policy (RFC 8460 §4.4). */
  async addTls(at: number, row: Omit<TlsRptRow, 'sessions'>): Promise<void> {
    await this.#db.kysely
      .insertInto('tls_rpt_results')
      .values({
        day: dayOf(at),
        policy_domain: row.policyDomain,
        policy: JSON.stringify(row.policy),
        result: row.result,
        receiving_mx: row.receivingMx,
        sessions: 1,
      })
      .onConflict((oc) =>
        oc
          .columns(['day', 'policy_domain', 'policy', 'result', 'receiving_mx'])
          .doUpdateSet({ sessions: sql`tls_rpt_results.sessions + 1` }),
      )
      .execute();
  }

  /** (domain, day) pairs with counts before `beforeDay` and no report marked sent yet. */
  async pending(kind: ReportKind, beforeDay: string): Promise<Array<{ domain: string; day: string }>> {
    const table = kind === 'dmarc' ? 'dmarc_results' : 'tls_rpt_results';
    const rows = await this.#db.kysely
      .selectFrom(table)
      .select(['policy_domain', 'day'])
      .distinct()
      .where('day', '<', beforeDay)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('report_sends')
              .select('kind')
              .where('report_sends.kind', '=', kind)
              .whereRef('report_sends.domain', '=', `${table}.policy_domain`)
              .whereRef('report_sends.day', '=', `${table}.day`),
          ),
        ),
      )
      .orderBy('day')
      .orderBy('policy_domain')
      .execute();
    return rows.map((r) => ({ domain: r.policy_domain, day: r.day }));
  }

  async dmarcRows(domain: string, day: string): Promise<DmarcResultRow[]> {
    const rows = await this.#db.kysely
      .selectFrom('dmarc_results')
      .selectAll()
      .where('policy_domain', '=', domain)
      .where('day', '=', day)
      .orderBy('source_ip')
      .execute();
    return rows.map((r) => ({
      policyDomain: r.policy_domain,
      rua: r.rua.split(' ').filter(Boolean),
      published: JSON.parse(r.policy),
      headerFrom: r.header_from,
      sourceIp: r.source_ip,
      disposition: r.disposition as DmarcResultRow['disposition'],
      dkim: r.dkim as 'pass' | 'fail',
      spf: r.spf as 'pass' | 'fail',
      authResults: JSON.parse(r.auth_results),
      messages: Number(r.messages),
    }));
  }

  async tlsRows(domain: string, day: string): Promise<TlsRptRow[]> {
    const rows = await this.#db.kysely
      .selectFrom('tls_rpt_results')
      .selectAll()
      .where('policy_domain', '=', domain)
      .where('day', '=', day)
      .orderBy('policy')
      .orderBy('result')
      .execute();
    return rows.map((r) => ({
      policyDomain: r.policy_domain,
      policy: JSON.parse(r.policy),
      result: r.result,
      receivingMx: r.receiving_mx,
      sessions: Number(r.sessions),
    }));
  }

  /** Marks a report handled (sent, or nothing to send to) so it is not built again. */
  async markSent(kind: ReportKind, domain: string, day: string, at: number, outcome: string): Promise<void> {
    await this.#db.kysely
      .insertInto('report_sends')
      .values({ kind, domain, day, sent_at: at, outcome: outcome.slice(0, 1000) })
      .onConflict((oc) => oc.columns(['kind', 'domain', 'day']).doNothing())
      .execute();
  }

  /** Reports handled, newest first. */
  async sent(kind: ReportKind, limit: number): Promise<Array<{ domain: string; day: string; sentAt: number; outcome: string }>> {
    const rows = await this.#db.kysely
      .selectFrom('report_sends')
      .selectAll()
      .where('kind', '=', kind)
      .orderBy('day', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ domain: r.domain, day: r.day, sentAt: Number(r.sent_at), outcome: r.outcome }));
  }
}
