/** Byte ranges `[start, end)` of whole header fields (the field with its folded lines and CRLF). */
export type Range = readonly [number, number];

/** The fields a scan found, and where the header section ends. */
export interface HeaderScan {
  readonly ranges: Range[];
  /** The offset after the header section's last CRLF, before the empty line; the message's length when it has no empty line. */
  readonly end: number;
}

/** Bytes of the header section looked at per turn of the event loop. */
const WINDOW = 256 * 1024;
/** Bytes of a field's value handed to `match`. */
const VALUE_PREFIX = 4096;
const CR = 0x0d;
const LF = 0x0a;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The byte ranges of the header fields (RFC 5322 §2.2) whose whole name matches `name` (case
 * ignored, names up to 256 KiB) and whose value (its first 4 KiB) and name pass `match`, and where the
 * header section ends. The header section is read in windows of 256 KiB, each a native
 * regular-expression search, with a turn of the event loop between them: a header section of
 * millions of lines costs time in proportion but never holds the loop. Adjacent ranges are merged.
 */
export async function headerFields(
  message: Uint8Array,
  name: RegExp,
  match: (value: string, name: string) => boolean = () => true,
): Promise<HeaderScan> {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  // A field starts a line; a line starting with white space continues the previous field (RFC 5322 §2.2.3).
  const fieldStart = new RegExp(`(?:^|(?<=\r\n))(?:${name.source})[ \t]*:`, 'gi');
  const fieldEnd = /\r\n(?![ \t])/g;
  const out: [number, number][] = [];
  // The header section ends after the line before the first empty line; a message starting with one has none.
  let end = buf[0] === CR && buf[1] === LF ? 0 : buf.length;
  /** The field being read across windows: where it starts and where its value does. */
  let open: { start: number; value: number; name: string } | null = null;
  const close = (stop: number) => {
    const { start, value, name } = open!;
    open = null;
    if (!match(buf.toString('latin1', value, Math.min(stop, value + VALUE_PREFIX)), name)) return;
    const last = out.at(-1);
    if (last && last[1] === start) last[1] = stop;
    else out.push([start, stop]);
  };
  for (let from = 0; from < end; ) {
    if (from > 0) await nextTurn();
    // Windows end after an LF where one is near, so a field name rarely straddles two.
    let to = Math.min(end, from + WINDOW);
    if (to < end) {
      const lf = buf.subarray(from, to).lastIndexOf(LF);
      if (lf >= 0) to = from + lf + 1;
    }
    const lo = Math.max(0, from - 3);
    const blank = buf.subarray(lo, to).indexOf('\r\n\r\n', 0, 'latin1');
    if (blank >= 0) {
      end = Math.min(end, lo + blank + 2);
      to = Math.min(to, end);
    }
    // Two bytes before the window let the look-behind see whether it starts a line.
    const base = Math.max(0, from - 2);
    const text = buf.toString('latin1', base, to);
    let at = from - base;
    for (;;) {
      if (open) {
        fieldEnd.lastIndex = Math.max(at - 2, 0);
        const e = fieldEnd.exec(text);
        // A CRLF at the very end of the window is judged with the next window's first byte.
        if (!e || (e.index + 2 === text.length && to < end)) break;
        close(base + e.index + 2);
        at = e.index + 2;
      }
      fieldStart.lastIndex = at;
      const m = fieldStart.exec(text);
      if (!m) break;
      open = { start: base + m.index, value: base + m.index + m[0].length, name: m[0].replace(/[ \t]*:$/, '') };
      at = m.index + m[0].length;
    }
    from = to;
  }
  if (open) close(end);
  return { ranges: out, end };
}
