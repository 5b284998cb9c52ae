// Memory of idle IMAP connections: N clients each connect over TLS, log in, SELECT INBOX and IDLE;
// prints the server process tree's resident memory before and with all of them idling, and the
// cost per connection. Works against any IMAP server (RSS from /proc for --pid and its children).
//
//   ./node_modules/.bin/node bench/imap-idle.ts --port 11993 --pid <server pid> [--connections 5000]
//       [--user user1@example.test] [--password bench-password-1] [--batch 100] [--label name]
import { readdirSync, readFileSync } from 'node:fs';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    pid: { type: 'string' },
    connections: { type: 'string', default: '5000' },
    user: { type: 'string', default: 'user1@example.test' },
    password: { type: 'string', default: 'bench-password-1' },
    batch: { type: 'string', default: '100' },
    label: { type: 'string', default: '' },
  },
});
if (!args.port || !args.pid) {
  process.stderr.write('need --port and --pid\n');
  process.exit(2);
}
const N = Number(args.connections);

/** Resident memory (KiB) of a process and all its descendants. */
function treeRssKiB(root: number): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'latin1');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      rss.set(Number(d), Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // the process went away while we looked
    }
  }
  let total = 0;
  const walk = (pid: number) => {
    total += rss.get(pid) ?? 0;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return total;
}

/** One client: TLS, LOGIN, SELECT INBOX, IDLE; resolves once the server says "+ idling". */
function idler(): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: args.host, port: Number(args.port), rejectUnauthorized: false });
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 60_000);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (step === 0 && line.startsWith('* OK')) {
          step = 1;
          s.write(`a LOGIN "${args.user}" "${args.password}"\r\n`);
        } else if (step === 1 && line.startsWith('a ')) {
          if (!line.startsWith('a OK')) return fail(line);
          step = 2;
          s.write('b SELECT INBOX\r\n');
        } else if (step === 2 && line.startsWith('b ')) {
          if (!line.startsWith('b OK')) return fail(line);
          step = 3;
          s.write('c IDLE\r\n');
        } else if (step === 3 && line.startsWith('+')) {
          step = 4;
          clearTimeout(timer);
          buf = '';
          s.removeAllListeners('data');
          s.on('data', () => {});
          return resolve(s);
        } else if (line.startsWith('* BYE') || / (NO|BAD) /.test(line)) return fail(line);
      }
    });
    s.on('error', (e) => fail(e.message));
    function fail(why: string) {
      clearTimeout(timer);
      s.destroy();
      reject(new Error(why));
    }
  });
}

const pid = Number(args.pid);
const warm = await idler();
await new Promise((r) => setTimeout(r, 500));
const before = treeRssKiB(pid);
const sockets: tls.TLSSocket[] = [warm];
let failed = 0;
let sample = '';
const started = Date.now();
for (let i = 1; i < N; i += Number(args.batch)) {
  const batch = await Promise.allSettled(Array.from({ length: Math.min(Number(args.batch), N - i) }, () => idler()));
  for (const r of batch) {
    if (r.status === 'fulfilled') sockets.push(r.value);
    else {
      failed++;
      sample ||= (r.reason as Error).message;
    }
  }
}
const setupSeconds = (Date.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 2000));
const after = treeRssKiB(pid);
const perConn = (after - before) / Math.max(1, sockets.length - 1);
const result = {
  label: args.label,
  idling: sockets.length,
  failed,
  failure_sample: sample || undefined,
  setup_seconds: Number(setupSeconds.toFixed(1)),
  rss_before_mib: Number((before / 1024).toFixed(1)),
  rss_idle_mib: Number((after / 1024).toFixed(1)),
  kib_per_connection: Number(perConn.toFixed(1)),
};
process.stdout.write(
  `${args.label || 'server'}: ${sockets.length} IDLE connections (${failed} failed${sample ? `: ${sample}` : ''}) in ${result.setup_seconds}s; ` +
    `server RSS ${result.rss_before_mib} MiB -> ${result.rss_idle_mib} MiB, ${result.kib_per_connection} KiB per connection\n`,
);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
for (const s of sockets) s.destroy();
