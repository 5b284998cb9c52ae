import { formatMailDate } from '../../../mail/mime/date.ts';
import type { SubmissionOutcome } from '../../../mail/submission/submission.ts';
import { isObject, type JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodContext } from '../context.ts';
import { utcDate } from '../dates.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { addressesOf, rawHeaders } from '../email/headers.ts';
import { runEmailSet } from '../email/set.ts';
import {
  invalidArguments,
  invalidProperties,
  MethodError,
  PropertyProblems,
  type SetError,
  SetErrorException,
  setError,
} from '../errors.ts';
import { fromId, toId } from '../ids.ts';
import { applyPatch } from '../patch.ts';
import { changedFixedProperties } from '../server-set.ts';
import { setArguments, setResponse } from '../standard.ts';
import { checkIfInState, typeState } from '../state.ts';
import { listIdentities } from '../identity/store.ts';
import { type DeliveryStatus, listSubmissions, submissionObject } from './store.ts';

/** Recipients one submission may have (SMTP's `smtp.max_recipients` applies too). */
const MAX_RECIPIENTS = 1000;

interface Address {
  email: string;
  parameters: JsonObject | null;
}

/** Removes every instance of a header field (with its folded lines) from the top-level header block. */
export function stripHeader(raw: Buffer, headerEnd: number, name: string): Buffer {
  const head = raw.subarray(0, headerEnd).toString('latin1');
  const lines = head.split(/(?<=\n)/);
  const out: string[] = [];
  let dropping = false;
  const prefix = `${name.toLowerCase()}:`;
  for (const line of lines) {
    if ((line[0] === ' ' || line[0] === '\t') && dropping) continue;
    dropping = line.toLowerCase().startsWith(prefix);
    if (!dropping) out.push(line);
  }
  return Buffer.concat([Buffer.from(out.join(''), 'latin1'), raw.subarray(headerEnd)]);
}

function parseEnvelopeAddress(value: unknown, property: string): Address {
  if (!isObject(value) || typeof value['email'] !== 'string' || !/^[^\s<>@]+@[^\s<>@]+$|^$/.test(value['email']))
    throw invalidProperties([property]);
  const parameters = value['parameters'] ?? null;
  if (parameters !== null && (!isObject(parameters) || Object.keys(parameters).length > 0)) {
    // No SMTP extension parameters are supported on the way out (submissionExtensions is empty).
    throw invalidProperties([property], 'SMTP parameters are not supported');
  }
  return { email: value['email'], parameters: null };
}

function emailLike(list: ReturnType<typeof addressesOf>): string[] {
  return list.map((a) => a.email).filter((e) => e.includes('@'));
}

async function createOne(ctx: MethodContext, accountId: number, input: JsonObject): Promise<JsonObject> {
  const { services } = ctx;
  // Every invalid property at once (RFC 8620 §5.3).
  const problems = new PropertyProblems();
  for (const key of Object.keys(input)) {
    if (!['identityId', 'emailId', 'envelope'].includes(key)) problems.add([key]);
  }
  const identityId = typeof input['identityId'] === 'string' ? fromId('identity', ctx.resolveId(input['identityId'])) : undefined;
  const identity = (await listIdentities(services, accountId)).find((i) => i.id === identityId);
  if (!identity) problems.add(['identityId'], 'no such identity');
  const emailId = typeof input['emailId'] === 'string' ? fromId('email', ctx.resolveId(input['emailId'])) : undefined;
  const [message] = emailId === undefined ? [] : await services.mail.getMessages(accountId, [emailId]);
  if (!message) problems.add(['emailId'], 'no such Email');
  const envelope = input['envelope'];
  let given: { mailFrom: Address; rcptTo: Address[] } | undefined;
  if (envelope !== undefined && envelope !== null) {
    given = problems.check(() => {
      if (!isObject(envelope) || !Array.isArray(envelope['rcptTo'])) throw invalidProperties(['envelope']);
      return {
        mailFrom: parseEnvelopeAddress(envelope['mailFrom'], 'envelope'),
        rcptTo: envelope['rcptTo'].map((r) => parseEnvelopeAddress(r, 'envelope')),
      };
    }, undefined);
  }
  problems.throwIfAny();
  if (!identity || !message) throw invalidProperties(['identityId', 'emailId']);
  const raw = await services.mail.readRaw(message);
  const headers = rawHeaders(raw, 0, message.meta.root.bodyStart);
  const last = (name: string) => headers.filter((h) => h.name.toLowerCase() === name).at(-1)?.value;
  const from = emailLike(addressesOf(last('from') ?? ''));
  if (!from.length) throw setError('invalidEmail', 'the Email has no From address', { properties: ['from'] });
  const idEmail = identity.email.toLowerCase();
  const fromAllowed = from.every((f) =>
    idEmail.startsWith('*@') ? f.toLowerCase().endsWith(idEmail.slice(1)) : f.toLowerCase() === idEmail,
  );
  if (!fromAllowed) throw setError('forbiddenFrom', `the From address does not match the identity ${identity.email}`);

  let mailFrom: Address;
  let rcptTo: Address[];
  if (given) {
    ({ mailFrom, rcptTo } = given);
  } else {
    const sender = emailLike(addressesOf(last('sender') ?? ''));
    mailFrom = { email: sender[0] ?? from[0]!, parameters: null };
    const all = [
      ...emailLike(addressesOf(last('to') ?? '')),
      ...emailLike(addressesOf(last('cc') ?? '')),
      ...emailLike(addressesOf(last('bcc') ?? '')),
    ];
    const seen = new Set<string>();
    rcptTo = all.filter((a) => !seen.has(a.toLowerCase()) && seen.add(a.toLowerCase())).map((email) => ({ email, parameters: null }));
  }
  if (!rcptTo.length) throw setError('noRecipients', 'the Email has no recipients');
  if (rcptTo.length > Math.min(MAX_RECIPIENTS, services.config.smtp.max_recipients)) {
    throw setError('tooManyRecipients', 'too many recipients', {
      maxRecipients: Math.min(MAX_RECIPIENTS, services.config.smtp.max_recipients),
    });
  }
  if (message.size > services.config.smtp.max_message_bytes)
    throw setError('tooLarge', 'the Email is too large', { maxSize: services.config.smtp.max_message_bytes });
  if (!mailFrom.email || !(await services.submission.maySendAs(accountId, mailFrom.email)))
    throw setError('forbiddenMailFrom', `this account may not use ${mailFrom.email || '<>'} as sender`);

  // RFC 8621 §7.5: the Bcc header never leaves with the message.
  // RFC 5321 §4.4: the trace of this hand-over, as SMTP submission adds one (no `for`: no Bcc leaks).
  const received = `Received: by ${services.config.server.hostname} with HTTPSA (JMAP EmailSubmission);\r\n\t${formatMailDate(services.now())}\r\n`;
  const outgoing = Buffer.concat([Buffer.from(received), stripHeader(raw, message.meta.root.bodyStart, 'bcc')]);
  const outcome = await services.submission.submit({
    accountId,
    sender: mailFrom.email,
    recipients: rcptTo.map((r) => r.email),
    message: outgoing,
  });
  if (!outcome.ok) throw refusal(outcome);
  const status: Record<string, DeliveryStatus> = {};
  for (const r of outcome.local) status[r] = { smtpReply: '250 2.0.0 Delivered', delivered: 'yes', displayed: 'unknown' };
  for (const r of outcome.remote) status[r] = { smtpReply: '250 2.0.0 Queued', delivered: 'queued', displayed: 'unknown' };
  const now = services.now();
  const id = await services.mail.submissions.add(accountId, {
    identityId: identity.id,
    emailId: message.id,
    threadId: message.threadId,
    envelope: { mailFrom, rcptTo },
    sendAt: now,
    deliveryStatus: status,
    queueId: outcome.queueId,
  });
  services.logger.info(
    { account: accountId, submission: id, local: outcome.local.length, remote: outcome.remote.length, queueId: outcome.queueId },
    'JMAP submission sent',
  );
  return { id: toId('submission', id), threadId: toId('thread', message.threadId), sendAt: utcDate(now), undoStatus: 'final' };
}

/**
 * The SetError of a refused submission (RFC 8621 §7.5). A full local mailbox is `forbiddenToSend`
 * ("not permitted to send right now"): nothing was sent, so there is no EmailSubmission whose
 * deliveryStatus could say `delivered: "no"`, and the client may retry.
 */
function refusal(outcome: Extract<SubmissionOutcome, { ok: false }>): SetErrorException {
  switch (outcome.reason) {
    case 'invalidRecipients':
      return setError('invalidRecipients', outcome.description, { invalidRecipients: [...(outcome.recipients ?? [])] });
    case 'limitReached':
      return setError('rateLimit', outcome.description);
    case 'mailboxFull':
      return setError('forbiddenToSend', outcome.description);
    case 'noRecipients':
      return setError('noRecipients', outcome.description);
  }
}

function setErrorOf(err: unknown): SetError {
  if (err instanceof SetErrorException) return err.error;
  throw err;
}

/**
 * EmailSubmission/set (RFC 8621 §7.5): sends Emails through the same path as SMTP submission
 * (sender policy, sending limits, local delivery, the outbound queue), Bcc removed; then the
 * implicit Email/set of `onSuccessUpdateEmail` / `onSuccessDestroyEmail`, answered after it.
 */
export const emailSubmissionSet: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    if (!ctx.using.has(CAPABILITIES.mail) && (args.has('onSuccessUpdateEmail') || args.has('onSuccessDestroyEmail'))) {
      throw invalidArguments('onSuccessUpdateEmail and onSuccessDestroyEmail need urn:ietf:params:jmap:mail in using');
    }
    const { create, update, destroy } = setArguments(args, ctx);
    const onUpdate = args.object('onSuccessUpdateEmail') ?? {};
    const onDestroy = args.strings('onSuccessDestroyEmail') ?? [];
    const oldState = await typeState(ctx.services, accountId, 'EmailSubmission');
    checkIfInState(args.string('ifInState'), oldState);

    const created: JsonObject = {};
    const notCreated: Record<string, SetError> = {};
    const emailOf = new Map<string, number>();
    for (const [cid, input] of Object.entries(create)) {
      try {
        if (!isObject(input)) throw invalidProperties([]);
        const result = await createOne(ctx, accountId, input);
        created[cid] = result;
        ctx.created(cid, result['id'] as string);
        const emailId = fromId('email', ctx.resolveId(input['emailId'] as string));
        if (emailId !== undefined) emailOf.set(result['id'] as string, emailId);
      } catch (err) {
        notCreated[cid] = setErrorOf(err);
      }
    }

    const rows = new Map((await listSubmissions(ctx.services, accountId)).map((r) => [r.id, r]));
    const updated: JsonObject = {};
    const notUpdated: Record<string, SetError> = {};
    for (const [rawId, patch] of Object.entries(update)) {
      const id = ctx.resolveId(rawId) ?? rawId;
      const n = fromId('submission', id);
      const row = n === undefined ? undefined : rows.get(n);
      try {
        if (!row) throw setError('notFound');
        if (!isObject(patch)) throw setError('invalidPatch', 'a patch must be an object');
        // Only undoStatus may change; the rest may be sent back as it is (RFC 8620 §5.3, RFC 8621 §7.5).
        const current = await submissionObject(ctx.services, row);
        const next = applyPatch(current, patch);
        const unknown = Object.keys(next).filter((p) => !Object.hasOwn(current, p));
        const changed = changedFixedProperties(current, patch, (p) => p !== 'undoStatus');
        const undo = next['undoStatus'];
        const bad = [...unknown, ...changed, ...(undo === 'final' || undo === 'canceled' ? [] : ['undoStatus'])];
        if (bad.length) throw invalidProperties([...new Set(bad)]);
        if (undo === 'canceled') throw setError('cannotUnsend', 'the message has already been sent');
        updated[id] = null;
      } catch (err) {
        notUpdated[id] = setErrorOf(err);
      }
    }
    const destroyed: string[] = [];
    const notDestroyed: Record<string, SetError> = {};
    for (const rawId of destroy) {
      const id = ctx.resolveId(rawId) ?? rawId;
      const n = fromId('submission', id);
      if (n === undefined || !rows.has(n)) {
        notDestroyed[id] = { type: 'notFound' };
        continue;
      }
      await ctx.services.mail.submissions.destroy(accountId, n);
      destroyed.push(id);
    }
    const newState = await typeState(ctx.services, accountId, 'EmailSubmission');
    const response = setResponse(ctx, oldState, newState, { created, updated, destroyed, notCreated, notUpdated, notDestroyed });

    // The implicit Email/set: keys are submission ids or #creationIds of this call's successes.
    const emailFor = (key: string): number | undefined => {
      const sub = key.startsWith('#') ? ctx.resolveId(key) : key;
      if (!sub) return undefined;
      const n = fromId('submission', sub);
      return emailOf.get(sub) ?? (n === undefined ? undefined : rows.get(n)?.email_id);
    };
    const succeeded = (key: string) => !key.startsWith('#') || Object.hasOwn(created, key.slice(1));
    const emailUpdate: JsonObject = {};
    for (const [key, patch] of Object.entries(onUpdate)) {
      const email = succeeded(key) ? emailFor(key) : undefined;
      if (email !== undefined) emailUpdate[toId('email', email)] = patch;
    }
    const emailDestroy = onDestroy.flatMap((key) => {
      const email = succeeded(key) ? emailFor(key) : undefined;
      return email === undefined ? [] : [toId('email', email)];
    });
    if (Object.keys(emailUpdate).length || emailDestroy.length) {
      try {
        ctx.extra.push(['Email/set', await runEmailSet(ctx, accountId, { create: {}, update: emailUpdate, destroy: emailDestroy })]);
      } catch (err) {
        if (!(err instanceof MethodError)) throw err;
        ctx.extra.push(['error', { type: err.type, ...(err.extra as JsonObject) }]);
      }
    }
    return response;
  },
};
