import { readFileSync } from 'node:fs';
import { localProblem } from './errors.ts';

/**
 * Adds the certificates of `caFile` (PEM) to the CAs this process trusts, for `fetch` and
 * `node:tls` alike, on top of the system store and NODE_EXTRA_CA_CERTS (which Node reads itself).
 * `--ca FILE` lets the client talk to a server with a private CA such as Fingerpost's local one.
 */
export function trustCaFile(caFile: string | undefined): string | undefined {
  if (!caFile) return undefined;
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw localProblem(`cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 'pass a PEM file with --ca');
  }
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs?.length) throw localProblem(`${caFile} contains no PEM certificate`, 'pass a PEM file with --ca');
  // Loaded only here: node:tls costs a mail client's `fingerpost token` call a noticeable part of its start-up.
  const tls = process.getBuiltinModule('node:tls');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...certs]);
  return pem;
}
