import { authenticate, type DNSResolver, spf as checkSpf } from 'mailauth';

/** RFC 8601 §2.7 result keywords as this server reports them. */
export type AuthVerdict = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** What sender authentication found for one message (RFC 7208, RFC 6376, RFC 7489, RFC 8617). */
export interface SenderAuthResult {
  /** The `Authentication-Results:` field (RFC 8601 §2.2), CRLF-terminated, authserv-id first. */
  readonly header: string;
  /** The `Received-SPF:` field (RFC 7208 §9.1), CRLF-terminated; '' when SPF did not run. */
  readonly receivedSpf: string;
  readonly spf: { readonly result: AuthVerdict; readonly domain: string };
  readonly dkim: readonly { readonly result: AuthVerdict; readonly domain: string }[];
  /** DMARC (RFC 7489 §6.6): the result and the policy the Author Domain asks for on failure. */
  readonly dmarc: {
    readonly result: AuthVerdict;
    readonly policy: 'none' | 'quarantine' | 'reject' | '';
    /** The RFC5322.From domain ('' when there is not exactly one). */
    readonly fromDomain: string;
    /** What an aggregate report needs (RFC 7489 §7.2, appendix C): present when a record was found. */
    readonly report?: DmarcReportFacts;
  };
  readonly arc: AuthVerdict;
  /** The checks ran out of time: every result is `temperror`. */
  readonly timedOut: boolean;
}

/** The published record and the alignment of one message, for aggregate reports (RFC 7489 §7.2). */
export interface DmarcReportFacts {
  /** Where the applied record was published. */
  readonly policyDomain: string;
  /** The record's `rua` URIs (RFC 7489 §6.3). */
  readonly rua: readonly string[];
  readonly published: {
    readonly adkim: 'r' | 's';
    readonly aspf: 'r' | 's';
    readonly p: string;
    readonly sp: string;
    readonly pct: number;
  };
  readonly dkimAligned: boolean;
  readonly spfAligned: boolean;
}

/** The tags of a DMARC record (RFC 7489 §6.3), lower-cased names. */
export function recordTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return tags;
}

function reportFacts(dmarc: {
  policyDomain?: string;
  domain?: string;
  p?: string;
  sp?: string;
  rr?: string;
  alignment?: { spf?: { result?: unknown; strict?: boolean }; dkim?: { result?: unknown; strict?: boolean } };
}): DmarcReportFacts | undefined {
  if (!dmarc.rr || !dmarc.p) return undefined;
  const tags = recordTags(dmarc.rr);
  const pct = Number(tags.get('pct') ?? '100');
  return {
    policyDomain: (dmarc.policyDomain ?? dmarc.domain ?? '').toLowerCase(),
    rua: (tags.get('rua') ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
      .slice(0, 10),
    published: {
      adkim: dmarc.alignment?.dkim?.strict ? 's' : 'r',
      aspf: dmarc.alignment?.spf?.strict ? 's' : 'r',
      p: dmarc.p,
      sp: dmarc.sp ?? dmarc.p,
      pct: Number.isInteger(pct) && pct >= 0 && pct <= 100 ? pct : 100,
    },
    dkimAligned: !!dmarc.alignment?.dkim?.result,
    spfAligned: !!dmarc.alignment?.spf?.result,
  };
}

export interface SenderAuthInput {
  /** The message as received, our Received field first. */
  readonly message: Buffer;
  /** MAIL FROM ('' for the null reverse-path). */
  readonly sender: string;
  readonly ip: string;
  readonly helo: string;
}

export interface SenderAuthOptions {
  /** This server's authserv-id (RFC 8601 §2.5): its host name. */
  readonly authservId: string;
  readonly resolver: DNSResolver;
  /** The longest all the checks of one message may take. */
  readonly timeoutMs: number;
}

function verdict(value: string | undefined): AuthVerdict {
  switch (value) {
    case 'pass':
    case 'fail':
    case 'softfail':
    case 'neutral':
    case 'none':
    case 'temperror':
    case 'permerror':
    case 'policy':
      return value;
    case 'temperr':
      return 'temperror';
    default:
      return 'none';
  }
}

function policyOf(value: string | undefined): SenderAuthResult['dmarc']['policy'] {
  return value === 'none' || value === 'quarantine' || value === 'reject' ? value : '';
}

const clean = (s: string) => s.replace(/[^\x21-\x7e]/g, '').slice(0, 255);

/** What to say when the checks could not finish (RFC 8601 §2.7: temperror). */
export function timedOut(input: SenderAuthInput, id: string, why = 'checks timed out'): SenderAuthResult {
  const mailfrom = input.sender ? ` smtp.mailfrom=${clean(input.sender)}` : '';
  const header =
    `Authentication-Results: ${id};\r\n spf=temperror (${why})${mailfrom};\r\n` +
    ` dkim=temperror (${why});\r\n dmarc=temperror (${why})\r\n`;
  return {
    header,
    receivedSpf: '',
    spf: { result: 'temperror', domain: '' },
    dkim: [],
    dmarc: { result: 'temperror', policy: '', fromDomain: '' },
    arc: 'temperror',
    timedOut: true,
  };
}

/**
 * SPF (RFC 7208, at most 10 lookups and the time bound), every DKIM signature (RFC 6376 §6),
 * ARC (RFC 8617 §5.2) and DMARC (RFC 7489 §6.6) for one message, through the `mailauth` library
 * and the given resolver. Never throws and never takes longer than `timeoutMs`: a check that
 * cannot finish reports `temperror` (RFC 8601 §2.7).
 */
export async function checkSender(input: SenderAuthInput, options: SenderAuthOptions): Promise<SenderAuthResult> {
  if (!verifiableHeader(input.message)) return spfOnly(input, options);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.timeoutMs);
    timer.unref();
  });
  try {
    const run = authenticate(input.message, {
      ip: input.ip,
      helo: input.helo || input.ip,
      sender: input.sender,
      mta: options.authservId,
      resolver: options.resolver,
      disableBimi: true,
      maxResolveCount: 10,
      maxVoidCount: 2,
      maxElapsedTime: options.timeoutMs,
    } as Parameters<typeof authenticate>[1]);
    // A rejection after the bound has nobody waiting for it.
    run.catch(() => {});
    const r = await Promise.race([run, bound]);
    if (!r) return timedOut(input, options.authservId);
    const headers = r.headers.split(/\r?\n(?=\S)/).filter((h) => h.trim());
    const ar = headers.find((h) => /^authentication-results:/i.test(h)) ?? `Authentication-Results: ${options.authservId}; none`;
    const spf = headers.find((h) => /^received-spf:/i.test(h)) ?? '';
    const dmarc = r.dmarc || undefined;
    const facts = dmarc ? reportFacts(dmarc as Parameters<typeof reportFacts>[0]) : undefined;
    return {
      header: `${ar.replace(/\r?\n$/, '')}\r\n`,
      receivedSpf: spf ? `${spf.replace(/\r?\n$/, '')}\r\n` : '',
      spf: { result: verdict(r.spf ? r.spf.status.result : 'none'), domain: r.spf ? r.spf.domain : '' },
      dkim: (r.dkim.results ?? []).map((d) => ({ result: verdict(d.status?.result), domain: (d.signingDomain ?? '').toLowerCase() })),
      dmarc: {
        result: verdict(dmarc?.status.result),
        policy: policyOf(dmarc?.policy),
        fromDomain: (
          dmarc?.status.header?.from ??
          (r.dkim.headerFrom?.length === 1 ? r.dkim.headerFrom[0]?.split('@').pop() : '') ??
          ''
        ).toLowerCase(),
        ...(facts ? { report: facts } : {}),
      },
      arc: verdict(r.arc ? r.arc.status.result : 'none'),
      timedOut: false,
    };
  } catch {
    // A library failure on hostile input is this message's temperror, not the session's end.
    return timedOut(input, options.authservId, 'checks failed');
  } finally {
    clearTimeout(timer);
  }
}

/** Header section size and unusual lines past which DKIM, ARC and DMARC are not attempted. */
const MAX_HEADER_BYTES = 1024 * 1024;
const MAX_ODD_LINES = 1000;

/**
 * Whether the header section is one the DKIM verifier may read: at most 1 MiB, and at most 1000
 * lines that are not the start of a field (continuations, lines without a colon). The verifier's
 * time grows with the square of such lines, and no signed mail has them.
 */
export function verifiableHeader(message: Uint8Array): boolean {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const blank = buf.indexOf('\r\n\r\n', 0, 'latin1');
  const end = blank < 0 ? buf.length : blank + 2;
  if (end > MAX_HEADER_BYTES) return false;
  let odd = 0;
  for (let at = 0; at < end; ) {
    const nl = buf.indexOf(0x0a, at);
    const stop = nl < 0 || nl >= end ? end : nl + 1;
    const first = buf[at];
    if (first === 0x20 || first === 0x09) odd++;
    else {
      const colon = buf.indexOf(0x3a, at);
      if (colon < 0 || colon >= stop) odd++;
    }
    if (odd > MAX_ODD_LINES) return false;
    at = stop;
  }
  return true;
}

/** SPF alone, for a message whose header section the DKIM verifier is not given. */
async function spfOnly(input: SenderAuthInput, options: SenderAuthOptions): Promise<SenderAuthResult> {
  const id = options.authservId;
  const why = 'header section not verifiable';
  try {
    const r = await checkSpf({
      ip: input.ip,
      helo: input.helo || input.ip,
      sender: input.sender,
      mta: id,
      resolver: options.resolver,
      maxResolveCount: 10,
      maxVoidCount: 2,
      maxElapsedTime: options.timeoutMs,
    } as Parameters<typeof checkSpf>[0]);
    const header = `Authentication-Results: ${id};\r\n dkim=permerror (${why});\r\n ${r.info};\r\n dmarc=permerror (${why})\r\n`;
    return {
      header,
      receivedSpf: r.header ? `${r.header.replace(/\r?\n$/, '')}\r\n` : '',
      spf: { result: verdict(r.status.result), domain: r.domain ?? '' },
      dkim: [],
      dmarc: { result: 'permerror', policy: '', fromDomain: '' },
      arc: 'none',
      timedOut: false,
    };
  } catch {
    return timedOut(input, id, 'checks failed');
  }
}
