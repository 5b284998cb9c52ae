import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The Fingerpost version (package.json), sent as `software_version` at registration (RFC 7591 §2). */
export const CLIENT_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0';
  } catch {
    return '0';
  }
})();
