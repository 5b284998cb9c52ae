// RFC 5256 THREAD: REFERENCES (links, dummies, loops, subject merging, date order) and
// ORDEREDSUBJECT, and the THREAD response syntax; deep chains do not overflow the stack.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseSubject } from '../../../src/mail/base-subject.ts';
import {
  formatThreads,
  normalizeMessageId,
  type ThreadMessage,
  threadOrderedSubject,
  threadReferences,
} from '../../../src/mail/threading.ts';

const DAY = 86_400_000;

function msg(n: number, o: { id?: string | null; refs?: string[]; subject?: string; day?: number } = {}): ThreadMessage {
  const b = baseSubject(o.subject ?? `subject ${n}`);
  return {
    id: n,
    order: n,
    messageId: o.id === undefined ? `m${n}@x` : o.id,
    references: o.refs ?? [],
    sentAt: (o.day ?? n) * DAY,
    baseSubject: b.base,
    replyOrForward: b.replyOrForward,
  };
}

const refs = async (ms: ThreadMessage[]) => formatThreads(await threadReferences(ms));
const ordered = async (ms: ThreadMessage[]) => formatThreads(await threadOrderedSubject(ms));

describe('THREAD=REFERENCES (RFC 5256 §3)', () => {
  it('chains, siblings, and threads in date order', async () => {
    assert.equal(await refs([msg(1), msg(2, { refs: ['m1@x'] }), msg(3, { refs: ['m1@x', 'm2@x'] })]), '(1 2 3)');
    assert.equal(await refs([msg(1), msg(2, { refs: ['m1@x'] }), msg(3, { refs: ['m1@x'] })]), '(1 (2)(3))');
    assert.equal(await refs([msg(3, { day: 1 }), msg(1, { day: 3 }), msg(2, { day: 2 })]), '(3)(2)(1)');
    assert.equal(await refs([]), '');
  });

  it('a missing parent is a dummy: kept at the top with several children, dropped with one', async () => {
    assert.equal(await refs([msg(2, { refs: ['gone@x'] }), msg(3, { refs: ['gone@x'] })]), '((2)(3))');
    assert.equal(await refs([msg(2, { refs: ['gone@x'] })]), '(2)');
    // Below the top, a dummy gives way to its children.
    assert.equal(await refs([msg(1), msg(2, { refs: ['m1@x', 'gone@x'] }), msg(3, { refs: ['m1@x', 'gone@x'] })]), '(1 (2)(3))');
  });

  it('links from References, else the first In-Reply-To the caller chose; the last reference wins', async () => {
    assert.equal(await refs([msg(1), msg(2), msg(3, { refs: ['m1@x', 'm2@x'] })]), '(1 2 3)');
    // 4 said its parent was 1, but 5 (with a longer References line) knows 4 replies to 2.
    assert.equal(await refs([msg(1), msg(2), msg(4, { refs: ['m2@x'] }), msg(5, { refs: ['m1@x', 'm2@x', 'm4@x'] })]), '(1 2 4 5)');
  });

  it('never loops, keeps the first of duplicate Message-IDs, and normalises quoting', async () => {
    assert.equal(await refs([msg(1, { refs: ['m2@x'] }), msg(2, { refs: ['m1@x'] })]), '(2 1)');
    assert.equal(await refs([msg(1, { id: 'dup@x' }), msg(2, { id: 'dup@x' }), msg(3, { refs: ['dup@x'] })]), '(1 3)(2)');
    assert.equal(normalizeMessageId('"01KF8 JC\\"E"@xxx.yyy.com'), '01KF8 JC"E@xxx.yyy.com');
    assert.equal(await refs([msg(1, { id: '"abc"@x' }), msg(2, { refs: ['abc@x'] })]), '(1 2)');
    assert.equal(await refs([msg(1, { refs: ['m1@x'] })]), '(1)', 'a message referring to itself');
  });

  it('merges threads by base subject: a reply goes under the original, two originals under a dummy', async () => {
    assert.equal(await refs([msg(1, { subject: 'Lunch' }), msg(2, { subject: 'Re: lunch' })]), '(1 2)');
    assert.equal(await refs([msg(1, { subject: 'Lunch' }), msg(2, { subject: 'LUNCH' })]), '((1)(2))');
    assert.equal(await refs([msg(1, { subject: 'Re: Lunch' }), msg(2, { subject: 'Lunch', day: 5 })]), '(2 1)');
    assert.equal(await refs([msg(1, { subject: '' }), msg(2, { subject: '' })]), '(1)(2)', 'empty subjects are not merged');
  });

  it('handles a 20,000-message reply chain without recursion', async () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => msg(i + 1, { refs: i ? [`m${i}@x`] : [], subject: 'long' }));
    const out = await refs(chain);
    assert.ok(out.startsWith('(1 2 3 ') && out.endsWith(' 20000)'));
  });
});

describe('THREAD=ORDEREDSUBJECT (RFC 5256 §3)', () => {
  it('one flat thread per base subject, threads by the date of their first message', async () => {
    const ms = [
      msg(1, { subject: 'B', day: 3 }),
      msg(2, { subject: 'Re: A', day: 2 }),
      msg(3, { subject: 'A', day: 1 }),
      msg(4, { subject: 'a', day: 4 }),
      msg(5, { subject: 'C', day: 5 }),
      msg(6, { subject: 'Fwd: b', day: 6 }),
    ];
    assert.equal(await ordered(ms), '(3 (2)(4))(1 6)(5)');
  });
});
