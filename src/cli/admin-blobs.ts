import type { Command } from 'commander';
import { FingerpostError } from '../core/errors.ts';
import { migrateBlobs } from '../store/migrate-blobs.ts';
import { type BlobStoreKind, blobStoreOf, otherBlobStoreKind } from '../store/open-blobs.ts';
import { action, configFrom, type StoreOptions, withStoreOptions } from './common.ts';
import { progressLine } from './progress.ts';
import { openCliServices } from './services.ts';

interface MigrateOptions extends StoreOptions {
  to: string;
  removeSource?: boolean;
}

function targetKind(value: string): BlobStoreKind {
  if (value === 'files' || value === 'database') return value;
  throw new FingerpostError('invalid_argument', `--to "${value}" is not a blob store`, { hint: 'use --to database or --to files' });
}

/** `fingerpost admin blobs migrate`: moves message bodies and uploads between the file and database stores. */
export function registerAdminBlobs(admin: Command): void {
  const blobs = admin.command('blobs').description('where message bodies and uploads are stored (store.blobs)');
  withStoreOptions(
    blobs.command('migrate').description('copy every blob into the other store while the server runs (resumable); see docs/operations.md'),
  )
    .requiredOption('--to <store>', 'database (store.url: shared by every node) or files (DATA/blobs)')
    .option('--remove-source', 'remove each blob from the old store once the new one holds it (only after store.blobs names the new one)')
    .action(
      action(async (opts: MigrateOptions) => {
        const to = targetKind(opts.to);
        const config = configFrom(opts);
        if (opts.removeSource && config.store.blobs !== to)
          throw new FingerpostError(
            'invalid_argument',
            `--remove-source while store.blobs is "${config.store.blobs}" would remove the blobs the server reads`,
            {
              hint: `set store.blobs = "${to}", restart every node, then run this again`,
            },
          );
        const services = await openCliServices(config);
        const progress = progressLine();
        try {
          const result = await migrateBlobs(
            blobStoreOf(otherBlobStoreKind(to), config.dataDir, services.db),
            blobStoreOf(to, config.dataDir, services.db),
            {
              removeSource: opts.removeSource,
              onProgress: (p) =>
                progress(
                  'blobs looked at',
                  p.seen,
                  p.total,
                  `${p.copied} copied${p.removed ? `, ${p.removed} removed from the source` : ''}`,
                ),
            },
          );
          process.stdout.write(
            `${result.copied} blob(s) copied to ${to}, ${result.total - result.copied} already there` +
              (opts.removeSource ? `, ${result.removed} removed from ${otherBlobStoreKind(to)}` : '') +
              '\n',
          );
          if (!opts.removeSource && config.store.blobs !== to)
            process.stdout.write(`next: set store.blobs = "${to}", restart every node, then run this again with --remove-source\n`);
        } finally {
          await services.close();
        }
      }),
    );
}
