// Signing with dkimpy (Debian python3-dkim), an implementation nobody here wrote: DKIM (RFC 6376)
// signatures and ARC sets (RFC 8617) on test messages, and keys published as DNS TXT values.
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Debian's python3-dkim lives in the system Python, which may not be the first python3 on PATH.
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export const hasDkimpy = spawnSync(PY, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0;
/** dkimpy's ARC signing reads Authentication-Results with python3-authres. */
export const hasAuthres = spawnSync(PY, ['-c', 'import authres'], { stdio: 'ignore' }).status === 0;

export interface TestKey {
  /** PKCS#1 PEM private key. */
  readonly privateKey: string;
  /** The `v=DKIM1; k=rsa; p=…` TXT value (RFC 6376 §3.6.1). */
  readonly txt: string;
}

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return { privateKey, txt: `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}` };
}

const SCRIPT = `
import dkim, sys, json
args = json.loads(sys.argv[1])
msg = sys.stdin.buffer.read()
key = args['key'].encode()
if args['mode'] == 'arc':
    hs = dkim.arc_sign(msg, args['selector'].encode(), args['domain'].encode(), key, args['srv_id'].encode())
    sys.stdout.buffer.write(b''.join(hs) + msg)
else:
    sig = dkim.sign(msg, args['selector'].encode(), args['domain'].encode(), key,
                    include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
    sys.stdout.buffer.write(sig + msg)
`;

function run(mode: 'dkim' | 'arc', message: Buffer, args: Record<string, string>): Buffer {
  const r = spawnSync(PY, ['-c', SCRIPT, JSON.stringify({ mode, ...args })], {
    input: message,
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`dkimpy ${mode} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

/** The message with a DKIM-Signature by dkimpy on top (relaxed/simple, rsa-sha256). */
export function dkimpySign(message: Buffer, o: { selector: string; domain: string; key: TestKey }): Buffer {
  return run('dkim', message, { selector: o.selector, domain: o.domain, key: o.key.privateKey });
}

/**
 * The message with an ARC set by dkimpy on top; it must already carry an Authentication-Results
 * field of `srvId` (what the sealing intermediary found, RFC 8617 §4.1.1).
 */
export function dkimpyArcSeal(message: Buffer, o: { selector: string; domain: string; key: TestKey; srvId: string }): Buffer {
  return run('arc', message, { selector: o.selector, domain: o.domain, key: o.key.privateKey, srv_id: o.srvId });
}
