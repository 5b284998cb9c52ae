/**
 * The base subject of a message (RFC 5256 §2.1), used by IMAP SORT (SUBJECT) and THREAD: the
 * decoded subject with whitespace collapsed, trailing `(fwd)`, leading `Re:`/`Fw:`/`Fwd:` (with
 * any `[blob]`s before or inside them), leading blobs and a `[fwd: …]` wrapper removed, repeatedly.
 * `replyOrForward` tells whether a re/fwd leader, a `(fwd)` trailer or a `[fwd: …]` wrapper went
 * (RFC 5256 §3, REFERENCES). Linear in the subject's length.
 */
export interface BaseSubject {
  readonly base: string;
  readonly replyOrForward: boolean;
}

/** Length of a subj-blob (`[…]` and the spaces after it) at `at` before `end`, or 0 (RFC 5256 §5). */
function blobAt(s: string, at: number, end: number): number {
  if (s[at] !== '[') return 0;
  let i = at + 1;
  while (i < end && s[i] !== '[' && s[i] !== ']') i++;
  if (i >= end || s[i] !== ']') return 0;
  i++;
  while (i < end && s[i] === ' ') i++;
  return i - at;
}

/** Length of a subj-refwd (`re`/`fw`/`fwd`, spaces, an optional blob, `:`) at `at`, or 0. */
function refwdAt(s: string, at: number, end: number): number {
  const lower = s.slice(at, Math.min(at + 3, end)).toLowerCase();
  let i = at;
  if (lower === 'fwd') i += 3;
  else if (lower.startsWith('re') || lower.startsWith('fw')) i += 2;
  else return 0;
  while (i < end && s[i] === ' ') i++;
  i += blobAt(s, i, end);
  return i < end && s[i] === ':' ? i + 1 - at : 0;
}

/** The base subject of a decoded subject and whether it was a reply or forward (RFC 5256 §2.1, §3). */
export function baseSubject(subject: string): BaseSubject {
  // (1) Whitespace, tabs and continuations become one space (the subject is already decoded).
  const s = subject.replace(/[\r\n]+/g, ' ').replace(/[ \t]+/g, ' ');
  // The base is s[from, to): positions move inward, nothing is copied until the end.
  let from = 0;
  let to = s.length;
  let replyOrForward = false;
  const lowerAt = (at: number, n: number) => s.slice(at, at + n).toLowerCase();
  for (;;) {
    // (2) Trailing "(fwd)" and whitespace.
    for (;;) {
      if (to > from && s[to - 1] === ' ') to--;
      else if (to - from >= 5 && lowerAt(to - 5, 5) === '(fwd)') {
        to -= 5;
        replyOrForward = true;
      } else break;
    }
    // (3)–(5) Leaders (blobs, then re/fw/fwd and a colon; or a space), and leading blobs when
    // something remains after them. Each pass removes what it scanned, so this stays linear.
    for (;;) {
      if (from < to && s[from] === ' ') {
        from++;
        continue;
      }
      let i = from;
      let lastBlob = -1;
      for (let n = blobAt(s, i, to); n; n = blobAt(s, i, to)) {
        lastBlob = i;
        i += n;
      }
      const refwd = refwdAt(s, i, to);
      if (refwd) {
        from = i + refwd;
        replyOrForward = true;
        continue;
      }
      const next = i < to ? i : lastBlob;
      if (lastBlob < 0 || next <= from) break;
      from = next;
    }
    // (6) A "[fwd: …]" wrapper, then again from (2).
    if (to - from >= 6 && lowerAt(from, 5) === '[fwd:' && s[to - 1] === ']') {
      from += 5;
      to -= 1;
      replyOrForward = true;
      continue;
    }
    return { base: s.slice(from, to), replyOrForward };
  }
}
