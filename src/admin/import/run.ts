import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FingerpostError, isFingerpostError } from '../../core/errors.ts';
import type { MailStore } from '../../mail/store.ts';
import type { ImportSource } from './source.ts';

/** Progress of an import: the folder being read, messages done in it and overall. */
export interface ImportProgress {
  readonly folder: string;
  readonly done: number;
  readonly total: number | undefined;
  readonly imported: number;
}

/** What an import did: how many messages went in, and each one left out with the reason. */
export interface ImportReport {
  readonly folders: number;
  readonly imported: number;
  readonly resumedFrom: number;
  readonly skipped: ReadonlyArray<{ readonly folder: string; readonly ref: string; readonly reason: string }>;
}

interface ResumeState {
  /** Per folder: the last imported position and the source epoch it belongs to. */
  folders: Record<string, { position: string; epoch: string }>;
}

async function loadState(file: string): Promise<ResumeState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ResumeState;
  } catch {
    return { folders: {} };
  }
}

async function saveState(file: string, state: ResumeState): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await rename(tmp, file);
}

/**
 * Copies every folder and message of `source` into an account (`fingerpost admin import`): folders
 * are created as needed, flags, keywords and arrival dates kept. The position reached in each
 * folder is saved under `stateDir`, so running the same import again resumes instead of copying
 * twice. A message the store refuses (too large, over quota, malformed) is skipped and reported;
 * anything else stops the import, which the next run resumes.
 */
export async function importMail(
  mail: MailStore,
  accountId: number,
  source: ImportSource,
  stateDir: string,
  onProgress: (p: ImportProgress) => void = () => {},
): Promise<ImportReport> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const stateFile = path.join(
    stateDir,
    `${createHash('sha256').update(`${accountId}\n${source.description}`).digest('hex').slice(0, 32)}.json`,
  );
  const state = await loadState(stateFile);
  const skipped: Array<{ folder: string; ref: string; reason: string }> = [];
  let imported = 0;
  let folders = 0;
  let resumedFrom = 0;
  try {
    for await (const folder of source.folders()) {
      folders++;
      const mailbox =
        (await mail.getMailbox(accountId, folder.name)) ??
        (await mail.createMailbox(accountId, folder.name).catch((err) => {
          if (isFingerpostError(err, 'invalid_argument')) return undefined;
          throw err;
        }));
      if (!mailbox) {
        skipped.push({ folder: folder.name, ref: '(folder)', reason: 'the folder name is not valid here' });
        continue;
      }
      const saved = state.folders[folder.name];
      const epoch = folder.epoch ?? '';
      const after = saved && saved.epoch === epoch ? saved.position : undefined;
      if (after !== undefined) resumedFrom++;
      let done = 0;
      onProgress({ folder: folder.name, done, total: folder.count, imported });
      for await (const { message, position } of folder.messages(after)) {
        try {
          if (message.raw.length === 0) throw new FingerpostError('invalid_argument', 'empty message');
          await mail.append(accountId, mailbox.id, message.raw, {
            keywords: message.keywords,
            ...(message.receivedAt !== undefined ? { receivedAt: message.receivedAt } : {}),
          });
          imported++;
        } catch (err) {
          if (!isFingerpostError(err, 'invalid_argument', 'limit_exceeded', 'over_quota')) throw err;
          skipped.push({ folder: folder.name, ref: message.ref, reason: (err as Error).message });
        }
        // Saved after every message: a run stopped at any point resumes with at most this one twice.
        state.folders[folder.name] = { position, epoch };
        await saveState(stateFile, state);
        done++;
        onProgress({ folder: folder.name, done, total: folder.count, imported });
      }
    }
  } finally {
    await saveState(stateFile, state).catch(() => {});
    await source.close?.();
  }
  return { folders, imported, resumedFrom, skipped };
}
