import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';
import { parseStructure } from '../mime/structure.ts';
import { decodeTransfer } from '../mime/transfer.ts';
import type { MimePart } from '../mime/types.ts';
import { unzip } from './zip.ts';

/** One row of an aggregate report (RFC 7489 Appendix C `RecordType`). */
export interface DmarcReportRecord {
  readonly sourceIp: string;
  readonly count: number;
  readonly disposition: string;
  readonly dkim: string;
  readonly spf: string;
  readonly headerFrom: string;
  readonly envelopeFrom: string;
  /** `domain=result` of each DKIM and SPF result the reporter saw. */
  readonly dkimResults: readonly string[];
  readonly spfResults: readonly string[];
}

/** An aggregate report (RFC 7489 §7.2, Appendix C `feedback`). */
export interface DmarcAggregateReport {
  readonly orgName: string;
  readonly email: string;
  readonly reportId: string;
  /** Seconds since the epoch (`date_range`). */
  readonly begin: number;
  readonly end: number;
  readonly domain: string;
  readonly policy: string;
  readonly records: readonly DmarcReportRecord[];
}

/** Bounds on one report: decompressed bytes, records, ZIP entries. */
export const REPORT_LIMITS = { maxBytes: 20 * 1024 * 1024, maxRecords: 100_000, maxEntries: 4 } as const;

/** A report that cannot be read, with why. */
export class DmarcReportError extends Error {}

const MEDIA = /^(application\/(gzip|x-gzip|zip|x-zip|x-zip-compressed|xml|octet-stream)|text\/xml)$/;

function attachments(part: MimePart, out: MimePart[]): void {
  if (part.children.length) for (const c of part.children) attachments(c, out);
  else out.push(part);
}

/** The XML documents of a report's file, by its content (gzip and ZIP magic numbers) rather than its name. */
function documents(data: Buffer): Buffer[] {
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      return [gunzipSync(data, { maxOutputLength: REPORT_LIMITS.maxBytes })];
    } catch (err) {
      throw new DmarcReportError(`gzip attachment: ${(err as Error).message}`);
    }
  }
  if (data.readUInt32LE(0) === 0x04034b50) {
    try {
      return unzip(data, REPORT_LIMITS)
        .filter((e) => /\.xml$/i.test(e.name))
        .map((e) => e.data);
    } catch (err) {
      throw new DmarcReportError(`zip attachment: ${(err as Error).message}`);
    }
  }
  return [data];
}

/**
 * The report files of a message sent to a `rua` address (RFC 7489 §7.2.1.1: an XML file, gzip or
 * ZIP compressed, as an attachment or the whole body), decompressed within REPORT_LIMITS.
 */
export function reportDocuments(raw: Buffer): Buffer[] {
  const { root } = parseStructure(raw);
  const parts: MimePart[] = [];
  attachments(root, parts);
  const out: Buffer[] = [];
  for (const part of parts) {
    const media = `${part.type}/${part.subtype}`;
    const name = part.disposition?.params.filename ?? part.params.name ?? '';
    if (!MEDIA.test(media) && !/\.(xml|xml\.gz|gz|zip)$/i.test(name)) continue;
    const body = decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
    if (!body || body.length < 4) continue;
    out.push(...documents(body));
  }
  return out;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  processEntities: false,
  parseTagValue: false,
  isArray: (_name, jpath) =>
    jpath === 'feedback.record' || jpath === 'feedback.record.auth_results.dkim' || jpath === 'feedback.record.auth_results.spf',
});

type Node = Record<string, unknown>;
const text = (v: unknown): string => (typeof v === 'string' ? v.trim().slice(0, 512) : typeof v === 'number' ? String(v) : '');
const node = (v: unknown): Node => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {});
const list = (v: unknown): Node[] => (Array.isArray(v) ? v.map(node) : v ? [node(v)] : []);
const int = (v: unknown): number => {
  const n = Number(text(v));
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
};

/**
 * Reads one aggregate report document (RFC 7489 Appendix C). Documents with a DOCTYPE or entity
 * declarations are refused (no entity expansion: XML bombs); a document without `feedback`,
 * `report_id` or `policy_published/domain` is not a report.
 */
export function parseAggregateReport(xml: Buffer): DmarcAggregateReport {
  const source = xml.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(source)) throw new DmarcReportError('report XML declares a DOCTYPE or entities');
  let doc: Node;
  try {
    doc = node(parser.parse(source));
  } catch (err) {
    throw new DmarcReportError(`report XML is not well-formed: ${(err as Error).message}`);
  }
  const feedback = node(doc.feedback);
  const meta = node(feedback.report_metadata);
  const range = node(meta.date_range);
  const policy = node(feedback.policy_published);
  const reportId = text(meta.report_id);
  const domain = text(policy.domain).toLowerCase();
  if (!reportId || !domain) throw new DmarcReportError('not a DMARC aggregate report (no report_id or policy domain)');
  const rows = list(feedback.record);
  if (rows.length > REPORT_LIMITS.maxRecords)
    throw new DmarcReportError(`report has ${rows.length} records (at most ${REPORT_LIMITS.maxRecords})`);
  const records = rows.map((r): DmarcReportRecord => {
    const row = node(r.row);
    const evaluated = node(row.policy_evaluated);
    const ids = node(r.identifiers);
    const results = node(r.auth_results);
    const pairs = (items: Node[]) => items.map((i) => `${text(i.domain)}=${text(i.result)}`);
    return {
      sourceIp: text(row.source_ip),
      count: int(row.count),
      disposition: text(evaluated.disposition),
      dkim: text(evaluated.dkim),
      spf: text(evaluated.spf),
      headerFrom: text(ids.header_from).toLowerCase(),
      envelopeFrom: text(ids.envelope_from).toLowerCase(),
      dkimResults: pairs(list(results.dkim)),
      spfResults: pairs(list(results.spf)),
    };
  });
  const p = text(policy.p);
  const sp = text(policy.sp);
  return {
    orgName: text(meta.org_name),
    email: text(meta.email),
    reportId,
    begin: int(range.begin),
    end: int(range.end),
    domain,
    policy: [`p=${p || 'none'}`, sp ? `sp=${sp}` : '', text(policy.pct) ? `pct=${text(policy.pct)}` : ''].filter(Boolean).join(' '),
    records,
  };
}
