#!/usr/bin/env node
// Launcher: runs src/cli/main.ts on Node >= 24 (type stripping). When started by an older Node,
// re-executes with the Node 24 that `npm ci` installed in node_modules (the `node` package).
// main.ts loads only the module of the subcommand it runs (src/cli/main.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(pathToFileURL(entry).href);
} else {
  const local = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  if (!existsSync(local)) {
    process.stderr.write(`fingerpost needs Node.js 24 or newer (this is ${process.version}); run "npm ci" in ${root} first\n`);
    process.exit(1);
  }
  const r = spawnSync(local, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
