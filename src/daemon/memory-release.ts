import { releaseHeapMemory } from '../runtime/heap-release.js';

/**
 * Gives memory back after a burst. Under load V8 grows its heap to many times the live data
 * (objects that waited in a queue are promoted, then die in old space) and keeps those pages
 * once the load stops: an idle daemon allocates nothing, so no collection ever shrinks them.
 * When the daemon has been idle (nothing in flight) for `idleMs` after at least `minRequests`
 * requests, one memory-reducing collection runs (releaseHeapMemory), and the daemon's RSS goes
 * back to its pre-load value.
 *
 * The release has a price: the next burst starts on a shrunken heap and costs about twice the
 * CPU per request for its first seconds (bench/FINDINGS.md). So `idleMs` (idle_memory_release_ms,
 * default 30 s) should be a real idle time, not a pause between bursts.
 */
export class IdleMemoryRelease {
  private since = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  releases = 0;

  constructor(
    private readonly options: { idleMs: number; minRequests: number; onError?: (err: unknown) => void },
  ) {}

  /** A request started: idle time starts over. */
  busy(): void {
    this.since++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Nothing is in flight any more. */
  idle(): void {
    if (this.stopped || this.options.idleMs <= 0 || this.since < this.options.minRequests) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.release(), this.options.idleMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private release(): void {
    this.timer = undefined;
    this.since = 0;
    releaseHeapMemory().then(
      () => this.releases++,
      (err: unknown) => this.options.onError?.(err),
    );
  }
}
