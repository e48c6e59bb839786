/**
 * A queue that workers push into and one async generator drains: lets several downloads run
 * at once while the pull still reads as a single ordered stream of events.
 */
export class EventQueue<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  /** Yields pushed items until `work` settles, then rethrows its error if it failed. */
  async *drain(work: Promise<unknown>): AsyncGenerator<T> {
    let settled = false;
    let failure: { err: unknown } | undefined;
    work.then(
      () => (settled = true),
      (err: unknown) => {
        settled = true;
        failure = { err };
      },
    ).finally(() => this.wake?.());
    for (;;) {
      while (this.items.length > 0) yield this.items.shift()!;
      if (settled) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    while (this.items.length > 0) yield this.items.shift()!;
    if (failure) throw failure.err;
  }
}
