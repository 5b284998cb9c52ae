import type { Command } from 'commander';
import { FingerpostError } from '../core/errors.ts';
import { migrateBlobs } from '../store/migrate-blobs.ts';
import { BLOB_STORE_KINDS, type BlobStoreKind, blobStoreOf, previousBlobStores } from '../store/open-blobs.ts';
import { action, configFrom, type StoreOptions, withStoreOptions } from './common.ts';
import { progressLine } from './progress.ts';
import { openCliServices } from './services.ts';

interface MigrateOptions extends StoreOptions {
  to: string;
  from?: string;
  removeSource?: boolean;
}

function storeKind(option: string, value: string): BlobStoreKind {
  if ((BLOB_STORE_KINDS as readonly string[]).includes(value)) return value as BlobStoreKind;
  throw new FingerpostError('invalid_argument', `${option} "${value}" is not a blob store`, {
    hint: `use ${option} ${BLOB_STORE_KINDS.join(', or ')}`,
  });
}

/** `fingerpost admin blobs migrate`: moves message bodies and uploads between the file, database and S3 stores. */
export function registerAdminBlobs(admin: Command): void {
  const blobs = admin.command('blobs').description('where message bodies and uploads are stored (store.blobs)');
  withStoreOptions(
    blobs.command('migrate').description('copy every blob into another store while the server runs (resumable); see docs/operations.md'),
  )
    .requiredOption('--to <store>', 'database (store.url: shared by every node), s3 (store.s3: shared) or files (DATA/blobs)')
    .option('--from <store>', 'the store to move out of (default: store.blobs, or the one other store holding blobs)')
    .option('--remove-source', 'remove each blob from the old store once the new one holds it (only after store.blobs names the new one)')
    .action(
      action(async (opts: MigrateOptions) => {
        const to = storeKind('--to', opts.to);
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
          const from = await sourceKind(opts.from, to, config.store.blobs, () => previousBlobStores(to, config, services.db));
          const result = await migrateBlobs(await blobStoreOf(from, config, services.db), await blobStoreOf(to, config, services.db), {
            removeSource: opts.removeSource,
            onProgress: (p) =>
              progress(
                'blobs looked at',
                p.seen,
                p.total,
                `${p.copied} copied${p.removed ? `, ${p.removed} removed from the source` : ''}`,
              ),
          });
          process.stdout.write(
            `${result.copied} blob(s) copied to ${to}, ${result.total - result.copied} already there` +
              (opts.removeSource ? `, ${result.removed} removed from ${from}` : '') +
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

/** The store `migrate` copies from: `--from`, else the configured one, else the one other store that holds blobs. */
async function sourceKind(
  option: string | undefined,
  to: BlobStoreKind,
  configured: BlobStoreKind,
  holding: () => Promise<BlobStoreKind[]>,
): Promise<BlobStoreKind> {
  const from = option !== undefined ? storeKind('--from', option) : configured !== to ? configured : undefined;
  if (from === to) throw new FingerpostError('invalid_argument', `--from and --to both name ${to}`, { hint: 'name two different stores' });
  if (from) return from;
  const candidates = await holding();
  if (candidates.length === 1) return candidates[0]!;
  throw new FingerpostError(
    'invalid_argument',
    candidates.length ? `blobs are in ${candidates.join(' and ')}` : 'no other store holds blobs',
    {
      hint: candidates.length ? `say which to move out of: --from ${candidates[0]}` : 'nothing to move',
    },
  );
}
