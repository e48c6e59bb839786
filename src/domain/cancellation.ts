/**
 * What the engine needs of a caller's cancellation: whether it happened, and to hear when it
 * does. An AbortSignal is one; so is a Cancellation. The request path makes one per request,
 * and an AbortSignal costs more there than anything else the engine does for the request (its
 * EventTarget setup and listener bookkeeping; bench/FINDINGS.md), so the API skins pass a
 * Cancellation where nobody needs a real AbortSignal.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A CancelSignal and its trigger in one object: abort() tells each listener once. */
export class Cancellation implements CancelSignal {
  private cancelled = false;
  private listeners: Array<() => void> | undefined;

  get aborted(): boolean {
    return this.cancelled;
  }

  /** Listeners always run once at most (abort happens once), whatever `options.once` says. */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.cancelled) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners!.splice(at, 1);
  }

  abort(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const listener of listeners) listener();
  }
}
