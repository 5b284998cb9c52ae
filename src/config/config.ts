import path from 'node:path';
import type { ConfigData } from './schema.ts';

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The immutable runtime configuration: the validated file plus derived values. */
export type Config = DeepReadonly<ConfigData> & {
  readonly dataDir: string;
  /** The config file that was read, if any. */
  readonly file: string | undefined;
  /** Public base URL of the HTTPS service, without a trailing slash. */
  readonly publicUrl: string;
  /** Where the SQLite database lives when `store.url` is empty. */
  readonly sqlitePath: string;
};

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Builds the frozen snapshot; handlers read only this, never env or files. */
export function freezeConfig(data: ConfigData, where: { dataDir: string; file: string | undefined }): Config {
  const defaultUrl = `https://${data.server.hostname}${data.http.port === 443 ? '' : `:${data.http.port}`}`;
  const publicUrl = (data.http.public_url || defaultUrl).replace(/\/+$/, '');
  return deepFreeze({
    ...data,
    dataDir: where.dataDir,
    file: where.file,
    publicUrl,
    sqlitePath: path.join(where.dataDir, 'fingerpost.db'),
  }) as Config;
}
