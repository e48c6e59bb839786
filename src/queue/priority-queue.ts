import type { Priority } from '../domain/task-type.js';

/** Level index of each priority: 0 is served first. */
const LEVEL_OF: Record<Priority, number> = { high: 0, medium: 1, low: 2 };
const PRIORITY_AT: readonly Priority[] = ['high', 'medium', 'low'];
const LEVEL_COUNT = 3;

/**
 * A queued value. The caller keeps it to remove the value later in O(1) (a client that
 * disconnects, a deadline that passes). It is a node of an intrusive doubly linked list.
 */
export class QueueEntry<T> {
  /** @internal */ prev: QueueEntry<T> | null = null;
  /** @internal */ next: QueueEntry<T> | null = null;
  /** @internal -1 once the entry has left the queue. */ level: number;
  /** Level index of its own priority (0 high .. 2 low). */
  readonly base: number;

  constructor(
    readonly value: T,
    priority: Priority,
    readonly enqueuedAt: number,
  ) {
    this.base = LEVEL_OF[priority];
    this.level = this.base;
  }

  get priority(): Priority {
    return PRIORITY_AT[this.base]!;
  }

  get queued(): boolean {
    return this.level >= 0;
  }
}

class Level<T> {
  head: QueueEntry<T> | null = null;
  tail: QueueEntry<T> | null = null;
  size = 0;

  push(entry: QueueEntry<T>): void {
    entry.prev = this.tail;
    entry.next = null;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.size++;
  }

  unlink(entry: QueueEntry<T>): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = null;
    this.size--;
  }
}

export interface PriorityQueueOptions {
  /** Most entries held at once; enqueue returns undefined beyond it. Default: unbounded. */
  capacity?: number;
  /** Aging step in ms; 0 disables aging. See `effectiveLevel`. */
  agingMs?: number;
}

/**
 * Bounded three-level priority queue: strict order between levels, FIFO within a level, with
 * aging so low never starves.
 *
 * Aging, precisely: at time `now` an entry of level L (high 0, medium 1, low 2) counts as level
 * `max(0, L - floor((now - enqueuedAt) / agingMs))`: one level up for every full `agingMs` it
 * has waited. Entries are served by (effective level, enqueuedAt, own level) ascending, i.e. an
 * aged entry is served as if it had been queued at that higher level at its original arrival
 * time (on an exact tie of times, the one whose own priority is higher goes first).
 * Within one level, older entries have aged at least as much, so each level's head is its best
 * entry and a dequeue only compares three heads: O(1) enqueue, dequeue and remove.
 */
export class PriorityQueue<T> {
  private readonly levels: Level<T>[] = Array.from({ length: LEVEL_COUNT }, () => new Level<T>());
  private readonly capacity: number;
  private readonly agingMs: number;
  private count = 0;

  constructor(options: PriorityQueueOptions = {}) {
    this.capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    this.agingMs = options.agingMs ?? 0;
  }

  get size(): number {
    return this.count;
  }

  sizes(): Record<Priority, number> {
    return { high: this.levels[0]!.size, medium: this.levels[1]!.size, low: this.levels[2]!.size };
  }

  /** Returns the entry (keep it to remove the value later), or undefined when full. */
  enqueue(value: T, priority: Priority, now: number): QueueEntry<T> | undefined {
    if (this.count >= this.capacity) return undefined;
    const entry = new QueueEntry(value, priority, now);
    this.levels[entry.level]!.push(entry);
    this.count++;
    return entry;
  }

  /** The entry the next dequeue would return. */
  peek(now: number): QueueEntry<T> | undefined {
    let best: QueueEntry<T> | null = null;
    let bestLevel = LEVEL_COUNT;
    for (let i = 0; i < LEVEL_COUNT; i++) {
      const head = this.levels[i]!.head;
      if (head === null) continue;
      const level = this.effectiveLevel(head, now);
      if (best === null || level < bestLevel || (level === bestLevel && before(head, best))) {
        best = head;
        bestLevel = level;
      }
    }
    return best ?? undefined;
  }

  dequeue(now: number): T | undefined {
    const entry = this.peek(now);
    if (entry === undefined) return undefined;
    this.remove(entry);
    return entry.value;
  }

  /** Removes an entry wherever it is; false if it already left the queue. */
  remove(entry: QueueEntry<T>): boolean {
    if (entry.level < 0) return false;
    this.levels[entry.level]!.unlink(entry);
    entry.level = -1;
    this.count--;
    return true;
  }

  /** Arrival time of the oldest entry at any level. */
  oldestEnqueuedAt(): number | undefined {
    let oldest: number | undefined;
    for (const level of this.levels) {
      if (level.head && (oldest === undefined || level.head.enqueuedAt < oldest)) oldest = level.head.enqueuedAt;
    }
    return oldest;
  }

  effectiveLevel(entry: QueueEntry<T>, now: number): number {
    const base = entry.base;
    if (base === 0 || this.agingMs <= 0 || now - entry.enqueuedAt < this.agingMs) return base;
    const steps = Math.floor((now - entry.enqueuedAt) / this.agingMs);
    return steps > 0 ? Math.max(0, base - steps) : base;
  }

  /**
   * Entries in the order successive dequeues would return them at `now` (a merge of the three
   * sorted levels). Do not remove entries while iterating; collect them first.
   */
  *inOrder(now: number): IterableIterator<QueueEntry<T>> {
    const cursors = this.levels.map((level) => level.head);
    for (;;) {
      let pick = -1;
      let pickLevel = LEVEL_COUNT;
      for (let i = 0; i < LEVEL_COUNT; i++) {
        const entry = cursors[i];
        if (!entry) continue;
        const level = this.effectiveLevel(entry, now);
        if (pick < 0 || level < pickLevel || (level === pickLevel && before(entry, cursors[pick]!))) {
          pick = i;
          pickLevel = level;
        }
      }
      if (pick < 0) return;
      const entry = cursors[pick]!;
      cursors[pick] = entry.next;
      yield entry;
    }
  }
}

/** Order of two heads of different levels at the same effective level. */
function before<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  return a.enqueuedAt < b.enqueuedAt || (a.enqueuedAt === b.enqueuedAt && a.base < b.base);
}
