// Memory of idle IMAP connections: N clients each connect over TLS, log in, SELECT INBOX and IDLE;
// prints the server process tree's memory (PSS and RSS from /proc for --pid and its children)
// before and with all of them idling, and the cost per connection. Works against any IMAP server.
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

/**
 * Memory (KiB) of a process and all its descendants: RSS, and PSS (shared pages split between
 * the processes mapping them), which is the fair sum for a server made of many processes.
 */
function treeMemoryKiB(root: number): { rss: number; pss: number } {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'latin1');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // the process went away while we looked
    }
  }
  let rss = 0;
  let pss = 0;
  const walk = (pid: number) => {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // gone, or not ours to read
    }
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return { rss, pss };
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
const before = treeMemoryKiB(pid);
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
const after = treeMemoryKiB(pid);
const idle = Math.max(1, sockets.length - 1);
const mib = (k: number) => Number((k / 1024).toFixed(1));
const result = {
  label: args.label,
  idling: sockets.length,
  failed,
  failure_sample: sample || undefined,
  setup_seconds: Number(setupSeconds.toFixed(1)),
  rss_before_mib: mib(before.rss),
  rss_idle_mib: mib(after.rss),
  pss_before_mib: mib(before.pss),
  pss_idle_mib: mib(after.pss),
  kib_per_connection_rss: Number(((after.rss - before.rss) / idle).toFixed(1)),
  kib_per_connection_pss: Number(((after.pss - before.pss) / idle).toFixed(1)),
};
process.stdout.write(
  `${args.label || 'server'}: ${sockets.length} IDLE connections (${failed} failed${sample ? `: ${sample}` : ''}) in ${result.setup_seconds}s; ` +
    `server PSS ${result.pss_before_mib} -> ${result.pss_idle_mib} MiB (${result.kib_per_connection_pss} KiB per connection), ` +
    `RSS ${result.rss_before_mib} -> ${result.rss_idle_mib} MiB (${result.kib_per_connection_rss} KiB per connection)\n`,
);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
for (const s of sockets) s.destroy();
