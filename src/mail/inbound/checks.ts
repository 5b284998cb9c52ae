import type { Logger } from '../../core/log.ts';
import { headerFields } from '../mime/header-fields.ts';
import { forgedAuthResults, rebuild } from './auth-results.ts';
import { type Disposition, decide, type InboundPolicy, type SpamVerdict } from './policy.ts';
import { type RspamdClient, RspamdUnavailable } from './rspamd.ts';
import type { SenderAuthInput, SenderAuthResult } from './sender-auth.ts';
import type { ReportStore } from '../reports/report-store.ts';

export interface InboundChecksOptions {
  /** This server's host name: the authserv-id (RFC 8601 §2.5) and rspamd's MTA name. */
  readonly hostname: string;
  /**
   * Sender authentication (SPF, DKIM, ARC, DMARC: sender-auth.ts, run by sender-auth-thread.ts),
   * bounded and never rejecting; absent: only rspamd and the lists.
   */
  readonly senderAuth?: (input: SenderAuthInput) => Promise<SenderAuthResult>;
  /** Add `Received-SPF` (RFC 7208 §9.1) besides Authentication-Results. */
  readonly receivedSpf: boolean;
  readonly policy: InboundPolicy;
  readonly rspamd?: RspamdClient;
  /** rspamd down: deliver and say so in `X-Spam-Status`, or answer 451 so the sender retries. */
  readonly rspamdDown: 'accept' | 'tempfail';
  /** Counts each message's DMARC result for the aggregate reports this server sends (RFC 7489 §7.2). */
  readonly reports?: ReportStore;
  readonly logger: Logger;
}

export interface InboundInput {
  /** The message as received, our Received field first. */
  readonly message: Buffer;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly ip: string;
  readonly helo: string;
  /** The transaction's trace id. */
  readonly id: string;
}

export interface InboundOutcome {
  /** The message to store: our result fields on top, forged ones of our id removed. */
  readonly message: Buffer;
  readonly disposition: Disposition;
  readonly auth: SenderAuthResult | undefined;
  readonly spam: SpamVerdict | undefined;
}

const fold = (name: string, items: readonly string[]) => {
  const lines: string[] = [];
  let line = `${name}:`;
  for (const [i, item] of items.entries()) {
    const piece = ` ${item}${i < items.length - 1 ? ',' : ''}`;
    if (line.length + piece.length > 76 && line.length > name.length + 1) {
      lines.push(line);
      line = `\t${piece.trimStart()}`;
    } else line += piece;
  }
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
};

/** The X-Spam-* fields for rspamd's verdict (the SpamAssassin-style names clients filter on). */
function spamFields(spam: SpamVerdict | undefined, down: boolean): string {
  if (down) return 'X-Spam-Status: Unknown (spam filter unavailable)\r\n';
  if (!spam) return '';
  const flagged = spam.action !== 'no action' && spam.action !== 'greylist';
  const status = `X-Spam-Status: ${flagged ? 'Yes' : 'No'}, score=${spam.score.toFixed(2)} required=${spam.required.toFixed(2)}\r\n`;
  return (
    (flagged ? 'X-Spam-Flag: YES\r\n' : '') +
    status +
    `X-Spam-Score: ${spam.score.toFixed(2)}\r\n` +
    `X-Spam-Action: ${spam.action.replace(/[^\x20-\x7e]/g, '')}\r\n` +
    (spam.symbols.length
      ? fold(
          'X-Spam-Symbols',
          spam.symbols.map((s) => s.replace(/[^\x21-\x7e]/g, '')),
        )
      : '')
  );
}

/**
 * Every check an inbound (MX) message goes through before its final reply: sender
 * authentication, rspamd, then the policy; returns the message with our result fields and where
 * it goes. Fields claiming our authserv-id or our X-Spam-* verdict are removed (RFC 8601 §5).
 */
export class InboundChecks {
  readonly #o: InboundChecksOptions;

  constructor(options: InboundChecksOptions) {
    this.#o = options;
  }

  async run(input: InboundInput): Promise<InboundOutcome> {
    const o = this.#o;
    const [auth, spamResult] = await Promise.all([
      o.senderAuth?.({ message: input.message, sender: input.sender, ip: input.ip, helo: input.helo }),
      o.rspamd
        ? o.rspamd
            .check(input.message, {
              ip: input.ip,
              helo: input.helo,
              sender: input.sender,
              recipients: input.recipients,
              queueId: input.id,
              hostname: o.hostname,
            })
            .catch((err: unknown) => {
              if (!(err instanceof RspamdUnavailable)) throw err;
              o.logger.warn({ session: input.id, err: err.message }, 'rspamd unavailable');
              return 'down' as const;
            })
        : undefined,
    ]);
    const down = spamResult === 'down';
    const spam = down ? undefined : spamResult;
    let disposition = decide({ sender: input.sender, auth, spam, policy: o.policy });
    if (down && o.rspamdDown === 'tempfail' && disposition.kind !== 'reject')
      disposition = { kind: 'tempfail', code: 451, enhanced: '4.7.1', text: 'Spam filter unavailable, try again later' };
    if (o.reports && auth?.dmarc.report && (auth.dmarc.result === 'pass' || auth.dmarc.result === 'fail')) {
      const f = auth.dmarc.report;
      o.reports
        .addDmarc(Date.now(), {
          policyDomain: f.policyDomain,
          rua: f.rua,
          published: f.published,
          headerFrom: auth.dmarc.fromDomain,
          sourceIp: input.ip,
          disposition: disposition.kind === 'reject' ? 'reject' : disposition.kind === 'junk' ? 'quarantine' : 'none',
          dkim: f.dkimAligned ? 'pass' : 'fail',
          spf: f.spfAligned ? 'pass' : 'fail',
          authResults: {
            dkim: auth.dkim.slice(0, 10).map((d) => ({ domain: d.domain, result: d.result })),
            spf: auth.spf.domain ? [{ domain: auth.spf.domain, result: auth.spf.result }] : [],
          },
        })
        .catch((err: Error) => o.logger.warn({ session: input.id, err: err.message }, 'DMARC result not counted'));
    }
    const drop = [
      ...(auth ? await forgedAuthResults(input.message, [o.hostname]) : []),
      ...(o.rspamd ? (await headerFields(input.message, /x-spam-[!-9;-~]*/)).ranges : []),
    ].sort((a, b) => a[0] - b[0]);
    const prefix = (auth ? auth.header + (o.receivedSpf ? auth.receivedSpf : '') : '') + spamFields(spam, down);
    const message = prefix || drop.length ? await rebuild(Buffer.from(prefix, 'utf8'), input.message, drop) : input.message;
    o.logger.info(
      {
        session: input.id,
        spf: auth?.spf.result,
        dkim: auth?.dkim.map((d) => `${d.domain}:${d.result}`).join(' '),
        dmarc: auth?.dmarc.result,
        arc: auth?.arc,
        spam: spam ? `${spam.action} ${spam.score}` : down ? 'down' : undefined,
        disposition: disposition.kind === 'junk' ? `junk (${disposition.reason})` : disposition.kind,
      },
      'inbound checks',
    );
    return { message, disposition, auth, spam };
  }
}
