import https from 'node:https';

/** An EventSource stream (RFC 8620 §7.3) read with node:https (the browser API cannot send Authorization). */
export interface EventStream {
  text: string;
  readonly status: number;
  readonly ended: Promise<void>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  close(): void;
}

/** Opens `url` as an event stream trusting `ca`; resolves once the response headers arrived. */
export function openEventStream(url: string, ca: string, headers: Record<string, string>): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers }, (res) => {
      const waiters: Array<() => void> = [];
      const stream: EventStream = {
        text: '',
        status: res.statusCode ?? 0,
        ended: new Promise<void>((r) => res.on('end', r)),
        async waitFor(pattern, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const m = pattern.exec(stream.text);
            if (m) return m;
            if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(stream.text)}`);
            await new Promise<void>((r) => {
              const t = setTimeout(r, 200);
              waiters.push(() => {
                clearTimeout(t);
                r();
              });
            });
          }
        },
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        stream.text += d;
        for (const w of waiters.splice(0)) w();
      });
      resolve(stream);
    });
    req.on('error', reject);
  });
}

/** The StateChange objects of `state` events in a stream's text, with their event ids. */
// biome-ignore lint/suspicious/noExplicitAny: StateChange objects are checked field by field
export function stateEvents(text: string): Array<{ id: string; data: any }> {
  return [...text.matchAll(/event: state\nid: ([^\n]+)\ndata: ([^\n]+)\n\n/g)].map((m) => ({ id: m[1]!, data: JSON.parse(m[2]!) }));
}
