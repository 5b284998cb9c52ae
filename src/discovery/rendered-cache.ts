/**
 * Rendered discovery documents (RFC 7033 JRDs, configuration documents) by key: each is a pure
 * function of the frozen config and its key, so it is rendered once and served as the same
 * string. Bounded: the oldest entries go first when full.
 */
export class RenderedCache {
  readonly #max: number;
  readonly #docs = new Map<string, string>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The document for `key`, rendered by `render` the first time. */
  get(key: string, render: () => string): string {
    let doc = this.#docs.get(key);
    if (doc === undefined) {
      doc = render();
      while (this.#docs.size >= this.#max) this.#docs.delete(this.#docs.keys().next().value!);
      this.#docs.set(key, doc);
    }
    return doc;
  }
}
