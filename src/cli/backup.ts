import path from 'node:path';
import type { Command } from 'commander';
import type { BackupProgress } from '../admin/backup-files.ts';
import { writeBackup } from '../admin/backup.ts';
import { restoreBackup } from '../admin/restore.ts';
import { action, configFrom, type StoreOptions, withStoreOptions } from './common.ts';
import { progressLine } from './progress.ts';

const PHASES: Record<BackupProgress['phase'], string> = {
  database: 'database snapshot',
  blobs: 'message bodies',
  files: 'keys and config',
  verify: 'checking',
};

function reporter(): (p: BackupProgress) => void {
  const line = progressLine();
  return (p) => line(PHASES[p.phase], p.done, p.total);
}

/** `fingerpost backup <dir>` and `fingerpost restore <dir>`: a consistent copy of a running server, and back (docs/operations.md). */
export function registerBackup(program: Command): void {
  withStoreOptions(
    program
      .command('backup')
      .description('write a consistent snapshot (database, message bodies, keys, config) into a new directory, while the server runs'),
  )
    .argument('<dir>', 'a new or empty directory')
    .action(
      action(async (dir: string, opts: StoreOptions) => {
        const config = configFrom(opts);
        const manifest = await writeBackup(config, path.resolve(dir), reporter());
        process.stdout.write(
          `backup of the ${manifest.engine} store written to ${path.resolve(dir)} (${manifest.counts.blobFiles} blob file(s), ${manifest.counts.otherFiles} other file(s))\n`,
        );
      }),
    );
  withStoreOptions(
    program
      .command('restore')
      .description('fill an empty data directory (and, for PostgreSQL, an empty database at store.url) from a backup'),
  )
    .argument('<dir>', 'a directory written by fingerpost backup')
    .action(
      action(async (dir: string, opts: StoreOptions) => {
        const config = configFrom(opts);
        const manifest = await restoreBackup(config, path.resolve(dir), reporter());
        process.stdout.write(
          `restored the backup of ${manifest.createdAt} into ${config.dataDir}; start the server with the same --data\n`,
        );
        if (manifest.configFile)
          process.stdout.write(`the config file was ${manifest.configFile}: a copy is in ${path.join(path.resolve(dir), 'config')}\n`);
      }),
    );
}
