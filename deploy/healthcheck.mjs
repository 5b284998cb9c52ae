// Container health check: GET /healthz on this node's HTTPS port (FINGERPOST_HTTP_PORT, default
// 8443). Exit 0 when the node answers 200 (store reachable), 1 otherwise. It asks the node on
// loopback, so the certificate (the local CA's or tls.cert, made for public names) is not checked.
import https from 'node:https';

const port = Number(process.env.FINGERPOST_HTTP_PORT || 8443);
const req = https.get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
