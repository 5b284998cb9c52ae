import { Readable } from 'node:stream';
import type { BlobStore } from './blobs.ts';

/**
 * The blob store of the configuration, reading through to the store used before a switch of
 * `store.blobs` until `fingerpost admin blobs migrate` has moved everything: writes go to the new
 * store only, a read the new store cannot answer is answered by the old one, so the switch needs
 * no downtime and loses nothing.
 */
export class ReadThroughBlobStore implements BlobStore {
  readonly #primary: BlobStore;
  readonly #previous: BlobStore;

  constructor(primary: BlobStore, previous: BlobStore) {
    this.#primary = primary;
    this.#previous = previous;
  }

  put(data: Uint8Array): Promise<string> {
    return this.#primary.put(data);
  }

  async #holder(id: string): Promise<BlobStore> {
    return (await this.#primary.has(id)) ? this.#primary : this.#previous;
  }

  async get(id: string): Promise<Buffer> {
    return (await this.#holder(id)).get(id);
  }

  async range(id: string, start: number, end: number): Promise<Buffer> {
    return (await this.#holder(id)).range(id, start, end);
  }

  stream(id: string): Readable {
    const holder = () => this.#holder(id);
    return Readable.from(
      (async function* () {
        yield* (await holder()).stream(id);
      })(),
      { objectMode: false },
    );
  }

  async has(id: string): Promise<boolean> {
    return (await this.#primary.has(id)) || (await this.#previous.has(id));
  }

  async delete(id: string): Promise<void> {
    await this.#primary.delete(id);
    await this.#previous.delete(id);
  }

  async writtenAt(id: string): Promise<number | undefined> {
    return (await this.#primary.writtenAt(id)) ?? (await this.#previous.writtenAt(id));
  }

  async *ids(): AsyncGenerator<string> {
    yield* this.#primary.ids();
    for await (const id of this.#previous.ids()) if (!(await this.#primary.has(id))) yield id;
  }
}
