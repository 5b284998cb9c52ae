import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, which the browser tests drive through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** SPKI pin of the server certificate, so Chromium trusts exactly that certificate and nothing else. */
export async function spkiPin(certFile: string): Promise<string> {
  const der = new X509Certificate(await readFile(certFile, 'utf8')).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** Headless Chromium that trusts the test server's certificate (in `dataDir`/tls) by its pin, quiet on the network. */
export async function launchChromium(dataDir: string): Promise<Browser> {
  const pin = await spkiPin(path.join(dataDir, 'tls', 'server.pem'));
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${pin}`,
    ],
  });
}
