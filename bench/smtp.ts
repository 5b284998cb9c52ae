// SMTP throughput: messages per second accepted (250 after durable delivery) on submission with
// AUTH PLAIN and with OAUTHBEARER (new TLS connection + AUTH per message, as mail apps do), and on
// inbound MX (connections reused, as MTAs do). 10 KB messages, concurrency 8, against a real
// `fingerpost serve` child process. Optional: the same inbound load against another server.
//
//   ./node_modules/.bin/node bench/smtp.ts [--messages 800] [--concurrency 8] [--size 10240]
//   ./node_modules/.bin/node bench/smtp.ts --target host:port --rcpt user@domain   (inbound only, any SMTP server)
//   ./node_modules/.bin/node bench/smtp.ts --peer host:port --rounds 3   (inbound only: Fingerpost and the peer,
//       e.g. Postfix delivering to a virtual maildir for example.test, rounds interleaved, ratio of medians)
//   ./node_modules/.bin/node bench/smtp.ts --inbound-only --cpu-prof DIR   (the server writes a V8 CPU profile to DIR)
//   ./node_modules/.bin/node bench/smtp.ts --submission-target host:port --user U --password P \
//       --ca cert.pem [--token-key es256.pem --token-kid k1]   (STARTTLS submission, e.g. Dovecot's)
import { createPrivateKey, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '800' },
    concurrency: { type: 'string', default: '8' },
    size: { type: 'string', default: '10240' },
    target: { type: 'string' },
    peer: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    /** Keep sender authentication on (it asks the system's resolvers); off by default for a plain comparison. */
    'sender-auth': { type: 'boolean', default: false },
    'submission-target': { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    ca: { type: 'string' },
    'token-key': { type: 'string' },
    'token-kid': { type: 'string', default: 'k1' },
    rcpt: { type: 'string', default: 'bench@example.test' },
    verbose: { type: 'boolean', default: false },
    'inbound-only': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
const MESSAGES = Number(args.messages);
const CONCURRENCY = Number(args.concurrency);
const SIZE = Number(args.size);

function message(i: number): Buffer {
  const head = `From: bench@example.test\r\nTo: ${args.rcpt}\r\nSubject: bench ${i}\r\nMessage-ID: <${randomUUID()}@bench>\r\nDate: ${new Date().toUTCString()}\r\n\r\n`;
  const line = `${'The quick brown fox jumps over the lazy dog. '.repeat(2).slice(0, 76)}\r\n`;
  let body = '';
  while (head.length + body.length < SIZE) body += line;
  return Buffer.from(head + body.slice(0, SIZE - head.length));
}

type Conn = InstanceType<typeof SMTPConnection>;
const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

async function open(options: ConstructorParameters<typeof SMTPConnection>[0]): Promise<Conn> {
  const c = new SMTPConnection({ ...options, logger: false });
  await call<void>((cb) => c.connect((err) => cb(err)));
  return c;
}

async function send(c: Conn, i: number, from: string): Promise<void> {
  await call((cb) => c.send({ from, to: [args.rcpt!] }, message(i), cb));
}

/** Runs `total` jobs on `CONCURRENCY` lanes; returns messages per second. */
async function measure(name: string, total: number, job: (i: number, lane: number) => Promise<void>): Promise<number> {
  let next = 0;
  let failed = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      while (next < total) {
        const i = next++;
        await job(i, lane).catch((err: Error) => {
          failed++;
          if (failed <= 3) console.error(`${name}: ${err.message}`);
        });
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = (total - failed) / secs;
  console.log(`${name.padEnd(40)} ${rate.toFixed(1).padStart(8)} msg/s  (${total - failed} in ${secs.toFixed(2)} s, ${failed} failed)`);
  return rate;
}

async function inbound(host: string, port: number, label: string): Promise<number> {
  const conns = await Promise.all(Array.from({ length: CONCURRENCY }, () => open({ host, port, ignoreTLS: true, name: 'bench.client' })));
  const rate = await measure(`inbound MX ${label}`, MESSAGES, (i, lane) => send(conns[lane]!, i, 'sender@remote.example'));
  for (const c of conns) c.quit();
  return rate;
}

/** Where and as whom to submit: STARTTLS on `port`, or implicit TLS when `secure`. */
interface SubmissionTarget {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly ca: string;
  readonly user: string;
  readonly password: string;
  /** An access token for OAUTHBEARER; without one only PLAIN is measured. */
  readonly token?: string;
}

/** Submission as mail apps do it: a new TLS connection, AUTH, one message, QUIT, per message. */
async function submission(label: string, t: SubmissionTarget): Promise<void> {
  const ir = Buffer.from(`n,a=${t.user},\x01auth=Bearer ${t.token}\x01\x01`).toString('base64');
  const connect = () =>
    open({
      host: t.host,
      port: t.port,
      secure: t.secure,
      requireTLS: !t.secure,
      tls: { ca: t.ca, servername: 'localhost' },
      customAuth: {
        OAUTHBEARER: async (ctx) => {
          const r = await ctx.sendCommand(`AUTH OAUTHBEARER ${ir}`);
          return r.status === 235 ? ctx.resolve() : ctx.reject(new Error(r.response));
        },
      },
    });
  const mechanisms = t.token ? (['PLAIN', 'OAUTHBEARER'] as const) : (['PLAIN'] as const);
  for (const method of mechanisms) {
    await measure(`submission ${method} ${label}`, MESSAGES, async (i) => {
      const c = await connect();
      await call<boolean>((cb) => c.login({ credentials: { user: t.user, pass: method === 'PLAIN' ? t.password : '' }, method }, cb));
      await send(c, i, t.user);
      c.quit();
    });
  }
}

if (args.target) {
  const [host, port] = args.target.split(':');
  await inbound(host!, Number(port), `(${args.target})`);
  process.exit(0);
}

if (args['submission-target']) {
  const [host, port] = args['submission-target'].split(':');
  if (!args.user || !args.password || !args.ca) throw new Error('--submission-target needs --user, --password and --ca');
  let token: string | undefined;
  if (args['token-key']) {
    // Claims as the Dovecot bench setup validates them (../shared/bench/dovecot: iss, sub = user, scope mail).
    token = await new SignJWT({ scope: 'mail', email: args.user })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: args['token-kid']! })
      .setIssuer('https://idp.bench.test')
      .setSubject(args.user)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(createPrivateKey(await readFile(args['token-key'], 'utf8')));
  }
  const ca = await readFile(args.ca, 'utf8');
  console.log(`${args['submission-target']}, ${MESSAGES} messages of ${SIZE} bytes, concurrency ${CONCURRENCY}, ${os.cpus().length} CPUs`);
  await submission(`(${args['submission-target']}, STARTTLS)`, {
    host: host!,
    port: Number(port),
    secure: false,
    ca,
    user: args.user,
    password: args.password,
    token,
  });
  process.exit(0);
}

// Imported here so that --target runs without loading the server code.
const { spawnServe } = await import('../test/helpers/process.ts');
const { portEnv, portOverrides, runCli } = await import('../test/helpers/server.ts');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-bench-smtp-'));
const { ports } = await portOverrides();
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwks = path.join(dataDir, 'jwks.json');
await writeFile(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256' }] }));
await writeFile(
  path.join(dataDir, 'fingerpost.toml'),
  `[log]\nlevel = "warn"\n[[auth.issuers]]\nissuer = "https://idp.bench.test"\njwks_file = "${jwks}"\n[submission]\nmax_messages_per_hour = 0\nmax_recipients_per_hour = 0\n[queue]\nenabled = false\n[inbound]\nsender_auth = ${args['sender-auth'] ? 'true' : 'false'}\n`,
);
const env = {
  ...portEnv(ports),
  ...(args['cpu-prof'] ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(args['cpu-prof'])}` } : {}),
};
await runCli(['admin', 'domain', 'add', 'example.test', '--data', dataDir]);
const PASSWORD = 'bench-password-123';
await runCli(['admin', 'user', 'add', 'bench@example.test', '--password-stdin', '--data', dataDir], { input: `${PASSWORD}\n` });
const server = await spawnServe(['--data', dataDir, '--domain', 'example.test'], env);
if (server.child.exitCode !== null) throw new Error(`serve failed:\n${server.stderr}`);
try {
  const ca = await readFile(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
  console.log(`Fingerpost, ${MESSAGES} messages of ${SIZE} bytes, concurrency ${CONCURRENCY}, ${os.cpus().length} CPUs`);
  if (args.peer) {
    const [host, port] = args.peer.split(':');
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < Number(args.rounds); r++) {
      ours.push(await inbound('127.0.0.1', ports.smtp, `(Fingerpost, round ${r + 1})`));
      theirs.push(await inbound(host!, Number(port), `(${args.peer}, round ${r + 1})`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `inbound MX median: Fingerpost ${median(ours).toFixed(1)} msg/s, peer ${median(theirs).toFixed(1)} msg/s, ratio ${(median(ours) / median(theirs)).toFixed(2)}`,
    );
    process.exitCode = 0;
  } else await inbound('127.0.0.1', ports.smtp, '(Fingerpost, plain, reused connections)');
  const token = await new SignJWT({ scope: 'urn:ietf:params:oauth:scope:mail', email: 'bench@example.test' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'b1' })
    .setIssuer('https://idp.bench.test')
    .setAudience('smtp://localhost')
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const account = { host: '127.0.0.1', ca, user: 'bench@example.test', password: PASSWORD, token };
  if (!args.peer && !args['inbound-only']) {
    await submission('(implicit TLS)', { ...account, port: ports.submissions, secure: true });
    await submission('(STARTTLS)', { ...account, port: ports.submission, secure: false });
  }
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
