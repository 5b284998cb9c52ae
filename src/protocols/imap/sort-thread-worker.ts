import { parentPort, workerData } from 'node:worker_threads';
import { formatThreads, type ThreadMessage, threadOrderedSubject, threadReferences } from '../../mail/threading.ts';
import { sortOrder } from './sort.ts';
import type { ParsedMessage } from '../../mail/mime/types.ts';
import { type SortFields, sortFieldsOf } from './sort-fields.ts';
import { addressTextsMatch } from './search-address.ts';
import { ADDRESS_NO, ADDRESS_UNKNOWN, ADDRESS_YES, type SortReply, type SortRequest } from './sort-thread.ts';

/**
 * The sort thread's worker (sort-thread.ts): keeps the sort-field cache and runs SORT's ordering
 * (RFC 5256 §3, RFC 5957), THREAD's algorithms (RFC 5256 §3) and SEARCH's address match (RFC 9051
 * §6.4.4) for the event loop. Each job pins
 * the fields it uses, so the cache's evictions never change a running job's result.
 */

const max: number = (workerData as { maxEntries?: number } | undefined)?.maxEntries ?? 200_000;
/** Cached fields and the pin (job number) that last used them, for least-recently-used eviction. */
const cache = new Map<number, { readonly fields: SortFields; used: number }>();
/** Per job: the fields in the order of its ids, and the positions of the ones still to come. */
const pinned = new Map<number, { readonly fields: Array<SortFields | null>; readonly waiting: Map<number, number[]> }>();
const port = parentPort!;

function reply(r: SortReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(r, transfer);
}

function fieldsOf(job: number, ids: Float64Array): Array<SortFields | null> {
  const mine = pinned.get(job);
  // A job this worker never pinned (its predecessor died meanwhile) must fail, not come out empty.
  if (!mine || mine.fields.length !== ids.length) throw new Error(`job ${job} was not prepared`);
  pinned.delete(job);
  return mine.fields;
}

/** Drops the least recently used entries down to 90 % of the bound (amortised: not on every put). */
function evict(): void {
  if (cache.size <= max) return;
  const byUse = [...cache].sort((a, b) => a[1].used - b[1].used);
  for (let i = 0; cache.size > Math.floor(max * 0.9); i++) cache.delete(byUse[i]![0]);
}

async function handle(msg: SortRequest): Promise<void> {
  switch (msg.kind) {
    case 'pin': {
      // The job keeps its own references: evictions never change a running job's result.
      const fields = new Array<SortFields | null>(msg.ids.length);
      const waiting = new Map<number, number[]>();
      const missing: number[] = [];
      for (let i = 0; i < msg.ids.length; i++) {
        const id = msg.ids[i]!;
        const hit = cache.get(id);
        if (hit) {
          hit.used = msg.job;
          fields[i] = hit.fields;
          continue;
        }
        fields[i] = null;
        const at = waiting.get(id);
        if (at) at.push(i);
        else {
          waiting.set(id, [i]);
          missing.push(id);
        }
      }
      pinned.set(msg.job, { fields, waiting });
      const out = Float64Array.from(missing);
      reply({ job: msg.job, missing: out }, [out.buffer as ArrayBuffer]);
      return;
    }
    case 'put': {
      const mine = pinned.get(msg.job);
      for (const r of msg.rows) {
        const f = sortFieldsOf({ size: r.size, receivedAt: r.receivedAt, meta: JSON.parse(r.meta) as ParsedMessage });
        cache.set(r.id, { fields: f, used: msg.job });
        for (const i of mine?.waiting.get(r.id) ?? []) mine!.fields[i] = f;
      }
      evict();
      return;
    }
    case 'drop':
      pinned.delete(msg.job);
      return;
    case 'sort': {
      const order = sortOrder(fieldsOf(msg.job, msg.ids), msg.orders, msg.criteria);
      reply({ job: msg.job, order }, [order.buffer as ArrayBuffer]);
      return;
    }
    case 'thread': {
      const fields = fieldsOf(msg.job, msg.ids);
      const messages: ThreadMessage[] = [];
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i];
        if (!f) continue;
        messages.push({
          id: msg.numbers[i]!,
          order: msg.orders[i]!,
          messageId: f.messageId,
          references: f.references,
          sentAt: f.sentAt,
          baseSubject: f.baseSubject,
          subjectKey: f.subjectKey,
          replyOrForward: f.replyOrForward,
        });
      }
      const roots = msg.algorithm === 'REFERENCES' ? await threadReferences(messages) : await threadOrderedSubject(messages);
      reply({ job: msg.job, data: formatThreads(roots) });
      return;
    }
    case 'address': {
      const fields = fieldsOf(msg.job, msg.ids);
      const matches = new Uint8Array(fields.length);
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i];
        const m = f ? addressTextsMatch(f.addresses[msg.field], msg.needle) : null;
        matches[i] = m === null ? ADDRESS_UNKNOWN : m ? ADDRESS_YES : ADDRESS_NO;
      }
      reply({ job: msg.job, matches }, [matches.buffer as ArrayBuffer]);
      return;
    }
  }
}

port.on('message', (msg: SortRequest) => {
  handle(msg).catch((err: unknown) => {
    pinned.delete(msg.job);
    reply({ job: msg.job, error: err instanceof Error ? err.message : String(err) });
  });
});
