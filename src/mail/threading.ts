import { casemapKey, compareKeys } from './collation.ts';
import { type Pacer, pacedSort, UNPACED } from './paced-sort.ts';

/**
 * IMAP THREAD algorithms (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES over the messages a search
 * found. Pure and iterative (a hostile References chain cannot overflow the stack); the caller
 * gives each message the number to report and its order in the mailbox for tie-breaks.
 */

export interface ThreadMessage {
  /** The number the THREAD response shows (sequence number or UID). */
  readonly id: number;
  /** Position in the mailbox (sequence number): the tie-breaker of equal dates (RFC 5256 §2.2). */
  readonly order: number;
  /** Message-ID without angle brackets, or null. */
  readonly messageId: string | null;
  /** The References ids, else the first In-Reply-To id, oldest first (RFC 5256 §3). */
  readonly references: readonly string[];
  /** Sent date in epoch ms (RFC 5256 §2.2). */
  readonly sentAt: number;
  readonly baseSubject: string;
  /** The base subject's i;unicode-casemap key, when the caller has it already. */
  readonly subjectKey?: string;
  readonly replyOrForward: boolean;
}

const subjectKeyOf = (m: ThreadMessage) => m.subjectKey ?? casemapKey(m.baseSubject);

/** A thread tree node; `message` null is a dummy parent that does not match (or is not in) the mailbox. */
export interface ThreadNode {
  message: ThreadMessage | null;
  parent: ThreadNode | null;
  children: ThreadNode[];
}

/** References a message may carry into threading; longer lists keep their newest ids. */
const MAX_REFERENCES = 100;

const node = (message: ThreadMessage | null): ThreadNode => ({ message, parent: null, children: [] });

/** The message whose date and order stand for a node: itself, or a dummy's first child. */
function representative(n: ThreadNode): ThreadMessage | null {
  let cur: ThreadNode | undefined = n;
  while (cur && !cur.message) cur = cur.children[0];
  return cur?.message ?? null;
}

function byDate(a: ThreadNode, b: ThreadNode): number {
  return compareRepresentatives(representative(a), representative(b));
}

function compareRepresentatives(x: ThreadMessage | null, y: ThreadMessage | null): number {
  if (!x || !y) return x ? -1 : y ? 1 : 0;
  return x.sentAt - y.sentAt || x.order - y.order;
}

/** Nodes in byDate order, each node's representative found once rather than on every comparison. */
async function sortByDate(nodes: readonly ThreadNode[], pace: Pacer): Promise<ThreadNode[]> {
  const keyed = nodes.map((n) => ({ n, m: representative(n) }));
  const sorted = await pacedSort(keyed, (a, b) => compareRepresentatives(a.m, b.m), pace);
  return sorted.map((k) => k.n);
}

/** A msg-id in one form whatever its quoting: `"a b"@host` and `a b@host` are the same (RFC 5256 §3). */
export function normalizeMessageId(id: string): string {
  if (id.charCodeAt(0) !== 0x22) return id;
  const m = /^"((?:[^"\\]|\\.)*)"@(.*)$/s.exec(id);
  return m ? `${m[1]!.replace(/\\(.)/g, '$1')}@${m[2]}` : id;
}

/** True when `candidate` is `of` or one of its ancestors (a node without children cannot be). */
function isAncestor(candidate: ThreadNode, of: ThreadNode): boolean {
  if (candidate !== of && candidate.children.length === 0) return false;
  for (let p: ThreadNode | null = of; p; p = p.parent) if (p === candidate) return true;
  return false;
}

function unlink(child: ThreadNode): void {
  const p = child.parent;
  if (!p) return;
  const i = p.children.indexOf(child);
  if (i >= 0) p.children.splice(i, 1);
  child.parent = null;
}

function link(parent: ThreadNode, child: ThreadNode): void {
  unlink(child);
  child.parent = parent;
  parent.children.push(child);
}

/** Sorts every set of siblings by sent date, deepest first (RFC 5256 §3 step 6), without recursion. */
async function sortAll(roots: ThreadNode[], pace: Pacer): Promise<void> {
  const order: ThreadNode[] = [];
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    order.push(n);
    for (const c of n.children) stack.push(c);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (n.children.length > 1) n.children = await sortByDate(n.children, pace);
    if (pace.due(1)) await pace.turn();
  }
  const sorted = await sortByDate(roots, pace);
  for (let i = 0; i < sorted.length; i++) roots[i] = sorted[i]!;
}

/** Step 3: dummies without children go, dummies with children give way to them (not at the root, unless one). */
function prune(roots: ThreadNode[]): ThreadNode[] {
  // Post-order without recursion: handle a node after all its descendants.
  const post: ThreadNode[] = [];
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    post.push(n);
    stack.push(...n.children);
  }
  const rootSet = new Set(roots);
  for (let i = post.length - 1; i >= 0; i--) {
    const n = post[i]!;
    if (n.message || rootSet.has(n)) continue;
    const parent = n.parent!;
    const at = parent.children.indexOf(n);
    for (const c of n.children) c.parent = parent;
    parent.children.splice(at, 1, ...n.children);
  }
  const out: ThreadNode[] = [];
  for (const r of roots) {
    if (r.message) out.push(r);
    else if (r.children.length === 1) {
      const only = r.children[0]!;
      only.parent = null;
      out.push(only);
    } else if (r.children.length > 1) out.push(r);
  }
  return out;
}

/** REFERENCES threading (RFC 5256 §3): by Message-ID/References, then threads merged by base subject. */
export async function threadReferences(messages: readonly ThreadMessage[], pace: Pacer = UNPACED): Promise<ThreadNode[]> {
  const byId = new Map<string, ThreadNode>();
  const containerOf = (id: string): ThreadNode => {
    let c = byId.get(id);
    if (!c) byId.set(id, (c = node(null)));
    return c;
  };
  /** Containers of messages whose Message-ID is missing or taken: not in byId. */
  const unindexed: ThreadNode[] = [];
  // (1) Link each message under its references.
  for (const m of await pacedSort(messages, (a, b) => a.order - b.order, pace)) {
    const own = m.messageId ? normalizeMessageId(m.messageId) : null;
    let c = own === null ? undefined : byId.get(own);
    if (c?.message) c = undefined; // a duplicate Message-ID: this one gets a unique id
    if (!c) {
      c = node(null);
      if (own !== null && !byId.has(own)) byId.set(own, c);
      else unindexed.push(c);
    }
    c.message = m;
    if (pace.due(m.references.length + 1)) await pace.turn();
    const refs = m.references.slice(-MAX_REFERENCES).map(normalizeMessageId);
    // (A) Each reference is the parent of the next, unless that one has a parent or it would loop.
    for (let i = 0; i + 1 < refs.length; i++) {
      const parent = containerOf(refs[i]!);
      const child = containerOf(refs[i + 1]!);
      if (parent === child || child.parent || isAncestor(child, parent)) continue;
      link(parent, child);
    }
    // (B) The last reference is this message's parent, replacing any earlier guess.
    const last = refs.at(-1);
    unlink(c);
    if (last !== undefined) {
      const parent = containerOf(last);
      if (parent !== c && !isAncestor(c, parent)) link(parent, c);
    }
  }
  // (2) The root set: everything without a parent.
  let roots: ThreadNode[] = [];
  for (const c of byId.values()) if (!c.parent) roots.push(c);
  for (const c of unindexed) if (!c.parent) roots.push(c);
  // (3) Prune dummies; (4) sort the roots by date.
  if (pace.due(roots.length)) await pace.turn();
  roots = prune(roots);
  for (const r of roots) if (!r.message) r.children.sort(byDate);
  roots = await sortByDate(roots, pace);
  // (5) Gather roots with the same base subject.
  if (pace.due(roots.length)) await pace.turn();
  const subjects = new Map<ThreadNode, string>();
  const subjectOf = (r: ThreadNode) => {
    let k = subjects.get(r);
    if (k === undefined) {
      const m = r.message ?? r.children[0]?.message;
      subjects.set(r, (k = m ? subjectKeyOf(m) : ''));
    }
    return k;
  };
  const table = new Map<string, ThreadNode>();
  for (const r of roots) {
    const subject = subjectOf(r);
    if (!subject) continue;
    const held = table.get(subject);
    if (!held) table.set(subject, r);
    else if (held.message && (!r.message || (held.message.replyOrForward && !r.message.replyOrForward))) table.set(subject, r);
  }
  const removed = new Set<ThreadNode>();
  const replaced = new Map<ThreadNode, ThreadNode>();
  for (const r of [...roots]) {
    if (removed.has(r)) continue;
    const subject = subjectOf(r);
    if (!subject) continue;
    const held = table.get(subject)!;
    if (held === r) continue;
    if (!held.message && !r.message) {
      for (const c of [...r.children]) link(held, c);
      removed.add(r);
    } else if (!held.message) {
      link(held, r);
      removed.add(r);
    } else if (r.message?.replyOrForward && !held.message.replyOrForward) {
      link(held, r);
      removed.add(r);
    } else {
      const dummy = node(null);
      link(dummy, held);
      link(dummy, r);
      removed.add(r);
      replaced.set(held, dummy);
      table.set(subject, dummy);
    }
  }
  if (pace.due(roots.length)) await pace.turn();
  roots = roots.filter((r) => !removed.has(r)).map((r) => replaced.get(r) ?? r);
  // Replacing may chain (a dummy replaced again): follow to the outermost.
  roots = roots.map((r) => {
    let cur = r;
    while (cur.parent) cur = cur.parent;
    return cur;
  });
  roots = [...new Set(roots)];
  // (6) Sort every set of siblings by date.
  await sortAll(roots, pace);
  return roots;
}

/** ORDEREDSUBJECT threading (RFC 5256 §3): one flat thread per base subject, by sent date. */
export async function threadOrderedSubject(messages: readonly ThreadMessage[], pace: Pacer = UNPACED): Promise<ThreadNode[]> {
  const keyed = messages.map((m) => ({ m, key: subjectKeyOf(m) }));
  const ordered = await pacedSort(keyed, (a, b) => compareKeys(a.key, b.key) || a.m.sentAt - b.m.sentAt || a.m.order - b.m.order, pace);
  const roots: ThreadNode[] = [];
  let current: { key: string; root: ThreadNode } | null = null;
  for (const { m, key } of ordered) {
    if (pace.due()) await pace.turn();
    if (current && current.key === key) link(current.root, node(m));
    else {
      current = { key, root: node(m) };
      roots.push(current.root);
    }
  }
  return sortByDate(roots, pace);
}

/** The THREAD response data (RFC 5256 §4): `(2)(3 6 (4 23)(44 7 96))`, built without recursion. */
export function formatThreads(roots: readonly ThreadNode[]): string {
  let out = '';
  // Each task writes text or expands a node: a node's number, then its one child inline or each child in parentheses.
  const tasks: Array<string | ThreadNode> = [];
  for (let i = roots.length - 1; i >= 0; i--) tasks.push(')', roots[i]!, '(');
  while (tasks.length) {
    const t = tasks.pop()!;
    if (typeof t === 'string') {
      out += t;
      continue;
    }
    const kids = t.children;
    if (!t.message && kids.length === 1) {
      tasks.push(kids[0]!);
      continue;
    }
    if (t.message) out += String(t.message.id);
    if (kids.length === 1 && t.message) {
      tasks.push(kids[0]!, ' ');
      continue;
    }
    if (kids.length && t.message) out += ' ';
    for (let i = kids.length - 1; i >= 0; i--) tasks.push(')', kids[i]!, '(');
  }
  return out;
}
