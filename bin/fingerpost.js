#!/usr/bin/env node
// Launcher: runs src/cli/main.ts on Node >= 24 (type stripping). When started by an older Node,
// re-executes itself with the Node 24 that `npm ci` installed in node_modules (the `node` package).
// main.ts loads only the module of the subcommand it runs; V8's compile cache (in
// $XDG_CACHE_HOME/fingerpost/compile-cache) spares `fingerpost token`, which mail clients run on
// every connection, most of its start-up. NODE_DISABLE_COMPILE_CACHE=1 turns the cache off.
import { existsSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');
const entry = path.join(root, 'src', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  const xdg = process.env.XDG_CACHE_HOME;
  const cache = path.join(
    xdg && path.isAbsolute(xdg) ? xdg : path.join(process.env.HOME || os.homedir(), '.cache'),
    'fingerpost',
    'compile-cache',
  );
  try {
    module.enableCompileCache?.(cache);
  } catch {
    // A cache that cannot be written only costs time.
  }
  await import(pathToFileURL(entry).href);
} else {
  const local = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  if (!existsSync(local)) {
    process.stderr.write(`fingerpost needs Node.js 24 or newer (this is ${process.version}); run "npm ci" in ${root} first\n`);
    process.exit(1);
  }
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(local, [self, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
