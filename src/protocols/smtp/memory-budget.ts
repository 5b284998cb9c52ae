/**
 * Bytes of message bodies that may be in memory at once for delivery, across every SMTP session
 * of the node. Deliveries wait in arrival order for room; a body larger than the whole budget
 * waits until nothing else is loaded and then goes alone, so nothing waits forever.
 */
export class MemoryBudget {
  readonly #limit: number;
  #used = 0;
  #loaded = 0;
  readonly #waiting: Array<{ bytes: number; go: () => void }> = [];

  constructor(limitBytes: number) {
    this.#limit = limitBytes;
  }

  /** Bytes taken right now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Takes `bytes` of the budget, waiting for room if needed (`onWait` is told when it has to);
   * resolves with the function that gives them back.
   */
  async take(bytes: number, onWait?: () => void): Promise<() => void> {
    if (!this.#fits(bytes) || this.#waiting.length) {
      onWait?.();
      await new Promise<void>((go) => this.#waiting.push({ bytes, go }));
    } else this.#grant(bytes);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#used -= bytes;
      this.#loaded--;
      this.#next();
    };
  }

  #fits(bytes: number): boolean {
    return this.#loaded === 0 || this.#used + bytes <= this.#limit;
  }

  #grant(bytes: number): void {
    this.#used += bytes;
    this.#loaded++;
  }

  #next(): void {
    while (this.#waiting.length && this.#fits(this.#waiting[0]!.bytes)) {
      const w = this.#waiting.shift()!;
      this.#grant(w.bytes);
      w.go();
    }
  }
}
