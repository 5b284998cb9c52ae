// ACME behind a reverse proxy that owns the public ports, as docs/tls.md describes it, with Debian's
// nginx in front and Pebble as the CA: port "443" is nginx's stream proxy passing TLS through by
// SNI with the PROXY protocol (ssl_preread + proxy_protocol), so tls-alpn-01 (RFC 8737) reaches
// Fingerpost's HTTPS listener; port "80" is nginx's HTTP server forwarding
// /.well-known/acme-challenge/ to Fingerpost's http-01 responder (RFC 8555 §8.3). Both servers
// end up serving Pebble certificates for every name, seen through the proxy.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateNames } from '../../src/discovery/certificate-names.ts';
import { startDns, type TestDns } from '../unit/discovery/dns-server.ts';
import { ManualClock } from '../helpers/clock.ts';
import { commandSkip } from '../helpers/peers.ts';
import { type Pebble, pebbleSkip, startPebble, waitForPort } from '../helpers/pebble.ts';
import { freePorts } from '../helpers/ports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { served } from '../helpers/tls-served.ts';

const skip = pebbleSkip() || commandSkip('nginx', 'nginx-core libnginx-mod-stream', ['-v']);
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

describe('ACME behind nginx on ports 443 and 80 (TLS passthrough with PROXY protocol, forwarded http-01)', { skip }, () => {
  let tmp: string;
  let dns: TestDns;
  let pebble: Pebble;
  let nginx: ChildProcess;
  let nginxLog = '';
  let alpnServer: TestServer;
  let httpServer: TestServer;
  let proxy443: number;
  let proxy80: number;
  let directHttps: number;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-acme-proxy-'));
    dns = await startDns(
      new Map(
        [...certificateNames('gamma.test'), ...certificateNames('delta.test')].map((n) => [
          n,
          [{ type: 'A' as const, value: '127.0.0.1' }],
        ]),
      ),
    );
    const [p443, p80, https1, responder, https2] = (await freePorts(5)) as [number, number, number, number, number];
    proxy443 = p443;
    proxy80 = p80;
    directHttps = https2;
    pebble = await startPebble(tmp, dns.address, { httpPort: p80, tlsPort: p443 });
    const conf = path.join(tmp, 'nginx.conf');
    await writeFile(
      conf,
      `load_module ${STREAM_MODULE};
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
stream {
  server {
    listen 127.0.0.1:${p443};
    ssl_preread on;
    proxy_pass 127.0.0.1:${https1};
    proxy_protocol on;
  }
}
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${p80};
    location /.well-known/acme-challenge/ {
      proxy_pass http://127.0.0.1:${responder};
      proxy_set_header Host $host;
    }
    location / { return 301 https://$host$request_uri; }
  }
}
`,
    );
    nginx = spawn('nginx', ['-p', tmp, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (nginxLog = (nginxLog + d).slice(-20_000));
    nginx.stdout!.on('data', keep);
    nginx.stderr!.on('data', keep);
    await waitForPort(p443, nginx, () => nginxLog);
    await waitForPort(p80, nginx, () => nginxLog);
    // The servers start ordering at once: the proxy is already there for Pebble's validations.
    const acme = { directory: pebble.directory, ca_file: pebble.caFile };
    // Behind the stream proxy: tls-alpn-01, and the PROXY protocol from the proxy's address only.
    alpnServer = await startTestServer({
      domain: 'gamma.test',
      overrides: {
        http: { port: https1, proxy_protocol: true, proxy_from: ['127.0.0.1/32'] },
        tls: { acme: { ...acme, challenge: 'tls-alpn-01' } },
      },
      renewalClock: new ManualClock(),
    });
    // Behind the HTTP proxy on port 80: http-01 on a high loopback port.
    httpServer = await startTestServer({
      domain: 'delta.test',
      overrides: {
        http: { port: https2 },
        tls: { acme: { ...acme, challenge: 'http-01', http_bind: '127.0.0.1', http_port: responder } },
      },
      renewalClock: new ManualClock(),
    });
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await alpnServer?.close();
    await httpServer?.close();
    await pebble?.close();
    await dns?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('tls-alpn-01 through the TLS-passthrough proxy: every name is served a Pebble certificate through port 443', async () => {
    await alpnServer.server.acme!.certs.whenChecked(1);
    for (const name of certificateNames('gamma.test')) {
      const r = await served(proxy443, name, pebble.root);
      assert.equal(r.ok, true, `${name}: ${JSON.stringify(r)}; ${JSON.stringify(alpnServer.server.acme!.certs.status())}\n${nginxLog}`);
      if (r.ok) assert.equal(r.cert.issuer, pebble.intermediate.subject);
    }
  });

  it('http-01 forwarded by the proxy on port 80: every name gets a Pebble certificate', async () => {
    await httpServer.server.acme!.certs.whenChecked(1);
    for (const name of certificateNames('delta.test')) {
      const r = await served(directHttps, name, pebble.root);
      assert.equal(r.ok, true, `${name}: ${JSON.stringify(r)}; ${JSON.stringify(httpServer.server.acme!.certs.status())}\n${nginxLog}`);
      if (r.ok) assert.equal(r.cert.issuer, pebble.intermediate.subject);
    }
    // Through the proxy, a token nobody asked for is a 404 from Fingerpost's responder; other paths go to HTTPS.
    const ask = (p: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port: proxy80, path: p, headers: { host: 'delta.test' } }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject),
      );
    const unknown = await ask('/.well-known/acme-challenge/not-a-pending-token');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /no such ACME challenge is pending/);
  });
});
