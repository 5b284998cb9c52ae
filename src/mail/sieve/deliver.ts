import { randomBytes } from 'node:crypto';
import type { Logger } from '../../core/log.ts';
import type { Db } from '../../store/db.ts';
import { formatMailDate } from '../mime/date.ts';
import type { SenderAuthResult } from '../inbound/sender-auth.ts';
import type { MailStore } from '../store.ts';
import type { SieveAction } from './actions.ts';
import { type RunLimits, runScript } from './interpret.ts';
import { flagsToKeywords } from './keywords.ts';
import { SieveMessage } from './message.ts';
import type { SieveScripts, StoredScript } from './scripts.ts';
import { type CompiledScript, compile } from './validate.ts';
import { claimVacation, vacationReply, vacationTarget } from './vacation.ts';

/** The field a redirect adds, naming the account that redirected; seeing it again means a loop (RFC 5228 §4.2). */
const LOOP_FIELD = 'X-Sieve-Redirected-By';
/** A message with more Received fields than this has looped already (RFC 5321 §6.3): it is not redirected again. */
const MAX_HOPS = 25;
const CACHE_ENTRIES = 500;

export interface SieveDeliveryOptions {
  readonly db: Db;
  readonly scripts: SieveScripts;
  readonly mail: Pick<MailStore, 'deliver' | 'getMailbox' | 'createMailbox' | 'append' | 'listMailboxes'>;
  /** The account's own addresses, for vacation (RFC 5230 §4.5). */
  readonly addressesOf: (accountId: number) => Promise<readonly string[]>;
  /** Sends a message the filter made (redirect, vacation, reject notice): local recipients to their INBOX, others via the queue. */
  readonly send: (input: { sender: string; recipients: readonly string[]; message: Buffer }) => Promise<unknown>;
  readonly hostname: string;
  readonly enabled: boolean;
  readonly parse: { readonly maxBytes: number; readonly maxDepth: number };
  readonly run: RunLimits;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * Whether the account's JMAP VacationResponse (RFC 8621 §8) is on now: then it alone answers,
   * and a vacation action sends nothing, so a sender never gets two automatic replies.
   */
  readonly vacationResponseOn?: (accountId: number) => Promise<boolean>;
  /**
   * Runs after a message from the MX is delivered (not refused, not Junk): calendar mail (iMIP,
   * RFC 6047) is applied to the account's calendar; it never throws.
   */
  readonly calendarMail?: (accountId: number, raw: Buffer, auth: SenderAuthResult | undefined) => Promise<void>;
}

/** What delivery to one recipient needs besides the message. */
export interface DeliveryContext {
  /** The envelope sender ("" for the null sender) and the recipient address as given in RCPT TO. */
  readonly sender: string;
  readonly recipient: string;
  /** The inbound checks chose Junk: the implicit keep goes there (RFC 5228 §2.10.2 "default mailbox"). */
  readonly junk: boolean;
  readonly spam?: { readonly score: number; readonly required: number } | undefined;
  /** The caller can refuse the message in its protocol (one recipient on SMTP): ereject/reject answer 550 there. */
  readonly canRefuse: boolean;
  /** What the MX's sender authentication found (absent for submission and local mail). */
  readonly auth?: SenderAuthResult | undefined;
}

/** The outcome: delivered (possibly nowhere, after discard), or refused with a reason for the protocol reply. */
export type DeliveryOutcome = { readonly refused: false } | { readonly refused: true; readonly reason: string };

/**
 * Delivery into an account through its active Sieve script (RFC 5228): compiled once per script
 * version, run with the limits, its actions carried out (fileinto with flags and :create, redirect
 * with loop protection, vacation once per sender and period, reject). A script that fails keeps
 * the message in the default mailbox and the owner gets one notice per script version
 * (RFC 5228 §2.10.6); without an active script, the message goes where it always did.
 */
export class SieveDelivery {
  readonly #o: SieveDeliveryOptions;
  readonly #cache = new Map<number, { updatedAt: number; compiled: CompiledScript }>();

  constructor(options: SieveDeliveryOptions) {
    this.#o = options;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #compiled(script: StoredScript): CompiledScript {
    const hit = this.#cache.get(script.id);
    if (hit && hit.updatedAt === script.updatedAt) return hit.compiled;
    const compiled = compile(script.content, this.#o.parse);
    if (this.#cache.size >= CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(script.id, { updatedAt: script.updatedAt, compiled });
    return compiled;
  }

  async #keep(accountId: number, raw: Buffer, junk: boolean, keywords: readonly string[] = []): Promise<void> {
    await this.#o.mail.deliver(accountId, raw, { ...(junk ? { role: 'junk' } : {}), keywords });
  }

  async deliver(accountId: number, raw: Buffer, ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const outcome = await this.#filter(accountId, raw, ctx);
    if (!outcome.refused && ctx.auth && !ctx.junk && this.#o.calendarMail) await this.#o.calendarMail(accountId, raw, ctx.auth);
    return outcome;
  }

  async #filter(accountId: number, raw: Buffer, ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const script = this.#o.enabled ? await this.#o.scripts.active(accountId) : undefined;
    if (!script) {
      await this.#keep(accountId, raw, ctx.junk);
      return { refused: false };
    }
    const message = new SieveMessage(raw);
    let actions: readonly SieveAction[];
    try {
      const compiled = this.#compiled(script);
      const mailboxes = compiled.capabilities.has('mailbox')
        ? new Set((await this.#o.mail.listMailboxes(accountId)).map((m) => m.name))
        : new Set<string>();
      actions = runScript(compiled, {
        message,
        envelope: { from: ctx.sender, to: ctx.recipient },
        spam: ctx.spam,
        mailboxes,
        limits: this.#o.run,
        now: this.#now(),
      }).actions;
    } catch (err) {
      const reason = (err as Error).message;
      this.#o.logger.warn({ account: accountId, script: script.name, err: reason }, 'sieve script failed; message kept');
      await this.#keep(accountId, raw, ctx.junk);
      await this.#notifyOwner(accountId, script, reason).catch((e: Error) =>
        this.#o.logger.warn({ account: accountId, err: e.message }, 'sieve error notice failed'),
      );
      return { refused: false };
    }
    return this.#carryOut(accountId, raw, message, actions, ctx, script.name);
  }

  async #carryOut(
    accountId: number,
    raw: Buffer,
    message: SieveMessage,
    actions: readonly SieveAction[],
    ctx: DeliveryContext,
    scriptName: string,
  ): Promise<DeliveryOutcome> {
    const stored = new Set<string>();
    const summary: string[] = [];
    const keepOnce = async (keywords: readonly string[]) => {
      if (stored.has('')) return;
      stored.add('');
      await this.#keep(accountId, raw, ctx.junk, keywords);
    };
    for (const action of actions) {
      switch (action.kind) {
        case 'keep':
          summary.push(action.implicit ? 'implicit keep' : 'keep');
          await keepOnce(flagsToKeywords(action.flags));
          break;
        case 'fileinto': {
          summary.push(`fileinto ${action.mailbox}`);
          let box = await this.#o.mail.getMailbox(accountId, action.mailbox);
          if (!box && action.create) box = await this.#o.mail.createMailbox(accountId, action.mailbox, { subscribed: true });
          if (!box) {
            // RFC 5228 §4.1: a mailbox that does not exist is an error; the message is not lost.
            this.#o.logger.warn(
              { account: accountId, script: scriptName, mailbox: action.mailbox },
              'sieve fileinto: no such mailbox; kept',
            );
            await keepOnce(flagsToKeywords(action.flags));
            break;
          }
          if (stored.has(box.name)) break;
          stored.add(box.name);
          await this.#o.mail.append(accountId, box.id, raw, { keywords: flagsToKeywords(action.flags) });
          break;
        }
        case 'redirect':
          summary.push('redirect');
          await this.#redirect(accountId, raw, message, action.address, ctx, () => keepOnce([]));
          break;
        case 'discard':
          summary.push('discard');
          break;
        case 'reject':
          summary.push(action.protocol ? 'ereject' : 'reject');
          if (ctx.canRefuse) return this.#logged(accountId, scriptName, summary, { refused: true, reason: action.reason });
          await this.#rejectNotice(raw, message, action.reason, ctx);
          break;
        case 'vacation':
          summary.push(`vacation ${await this.#vacation(accountId, message, action, ctx)}`);
          break;
      }
    }
    return this.#logged(accountId, scriptName, summary, { refused: false });
  }

  #logged(accountId: number, script: string, summary: readonly string[], outcome: DeliveryOutcome): DeliveryOutcome {
    this.#o.logger.info({ account: accountId, script, actions: summary.join(', ') }, 'sieve');
    return outcome;
  }

  async #redirect(
    accountId: number,
    raw: Buffer,
    message: SieveMessage,
    address: string,
    ctx: DeliveryContext,
    keep: () => Promise<void>,
  ): Promise<void> {
    const marker = `${accountId}@${this.#o.hostname}`;
    const looped =
      message.headers(LOOP_FIELD).some((v) => v.trim().toLowerCase() === marker.toLowerCase()) ||
      message.headers('received').length > MAX_HOPS;
    if (looped) {
      this.#o.logger.warn({ account: accountId }, 'sieve redirect loop; message kept instead');
      await keep();
      return;
    }
    const prefixed = Buffer.concat([Buffer.from(`${LOOP_FIELD}: ${marker}\r\n`), raw]);
    // RFC 5228 §4.2: the envelope sender stays the original one.
    await this.#o.send({ sender: ctx.sender, recipients: [address], message: prefixed });
  }

  async #vacation(
    accountId: number,
    message: SieveMessage,
    action: Extract<SieveAction, { kind: 'vacation' }>,
    ctx: DeliveryContext,
  ): Promise<string> {
    const own = [...(await this.#o.addressesOf(accountId)), ...action.addresses];
    const to = vacationTarget(message, ctx.sender, own);
    if (!to) return 'not sent (not a direct personal message)';
    if (await this.#o.vacationResponseOn?.(accountId)) return 'not sent (the VacationResponse answers)';
    const now = this.#now();
    if (!(await claimVacation(this.#o.db, accountId, action.handle, ctx.sender, action.days, now))) return 'not sent (already answered)';
    const reply = vacationReply(action, message, { to: ctx.sender, from: to, hostname: this.#o.hostname, now });
    // RFC 5230 §5.1 / RFC 3834 §3.3: replies go out from the null sender so nothing answers them.
    await this.#o.send({ sender: '', recipients: [ctx.sender], message: reply });
    return 'sent';
  }

  /** A reject that cannot be a protocol reply becomes a notice to the sender (RFC 5429 §2.2.1). */
  async #rejectNotice(raw: Buffer, message: SieveMessage, reason: string, ctx: DeliveryContext): Promise<void> {
    if (!ctx.sender.includes('@')) return; // never to the null sender (RFC 5429 §2.1.1)
    const boundary = `=_${randomBytes(8).toString('hex')}`;
    const headerEnd = raw.indexOf('\r\n\r\n');
    const head = raw.subarray(0, headerEnd < 0 ? Math.min(raw.length, 64 * 1024) : headerEnd + 2);
    const text = `Your message to ${ctx.recipient} was rejected by the recipient's mail filter:\r\n\r\n${reason.replace(/\r?\n/g, '\r\n')}\r\n`;
    const notice = [
      `From: Mail Delivery System <MAILER-DAEMON@${this.#o.hostname}>`,
      `To: <${ctx.sender}>`,
      `Subject: Rejected: ${(message.headers('subject')[0] ?? '').replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 200)}`,
      `Date: ${formatMailDate(this.#now())}`,
      `Message-ID: <${randomBytes(12).toString('hex')}@${this.#o.hostname}>`,
      'Auto-Submitted: auto-replied (rejected)',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      `Reporting-MTA: dns; ${this.#o.hostname}`,
      '',
      `Final-Recipient: rfc822; ${ctx.recipient}`,
      'Action: failed',
      'Status: 5.7.1',
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      head.toString('utf8'),
      `--${boundary}--`,
      '',
    ].join('\r\n');
    await this.#o.send({ sender: '', recipients: [ctx.sender], message: Buffer.from(notice, 'utf8') });
  }

  /** Tells the owner once per script version that it failed, with the error (RFC 5228 §2.10.6). */
  async #notifyOwner(accountId: number, script: StoredScript, reason: string): Promise<void> {
    const handle = `sieve-error:${script.id}:${script.updatedAt}`;
    if (!(await claimVacation(this.#o.db, accountId, handle, '', 36_500, this.#now()))) return;
    const notice = [
      `From: Mail Filter <MAILER-DAEMON@${this.#o.hostname}>`,
      `Subject: Your mail filter "${script.name.replace(/[\x00-\x1f\x7f"]/g, ' ')}" failed`,
      `Date: ${formatMailDate(this.#now())}`,
      `Message-ID: <${randomBytes(12).toString('hex')}@${this.#o.hostname}>`,
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Your Sieve script could not sort a message, so it was kept in your inbox instead.',
      'Messages are not lost while the script fails; this notice is sent once until the script changes.',
      '',
      `Error: ${reason}`,
      '',
    ].join('\r\n');
    await this.#o.mail.deliver(accountId, Buffer.from(notice, 'utf8'));
  }
}
