import type { CancelSignal } from '../domain/cancellation.js';
import type { Clock, Timer } from '../domain/clock.js';
import type { InferenceProgress } from '../domain/engine.js';
import { ModelMoraError, toModelMoraError } from '../domain/errors.js';
import type { InferenceItem, ItemOutput } from '../domain/inference.js';
import type { RunnerBatch, RunnerBatchResult, RunnerProgress } from '../domain/runner.js';
import type { Priority } from '../domain/task-type.js';
import { parametersKey } from './parameters-key.js';
import { PriorityQueue, type QueueEntry } from './priority-queue.js';

/** The model's runner for one batch; the queue releases it as soon as the batch is done. */
export interface BatchLease {
  /** `signal` aborts once no request of the batch is still waiting for it (all cancelled or timed out). */
  run(batch: RunnerBatch, signal?: AbortSignal, onProgress?: (event: RunnerProgress) => void): Promise<RunnerBatchResult>;
  release(): void;
}

export interface BatchLimits {
  /** Items (texts, images) per runner call. A request with more items runs alone. */
  maxBatchSize: number;
  /** Longest wait, from the oldest waiting request's arrival, to fill a batch. */
  maxDelayMs: number;
  /** Requests waiting (not in flight) before RATE_LIMIT_EXCEEDED. */
  maxQueueSize: number;
}

export interface ModelQueueOptions extends BatchLimits {
  modelId: string;
  agingMs: number;
  clock: Clock;
  /**
   * Gets the model's runner, loading it if needed (single flight is the caller's job).
   * `deadline` is the latest deadline among waiting requests: a runner that cannot be ready by
   * then (restart backoff) may fail at once instead of letting everyone time out.
   */
  acquire: (deadline: number) => BatchLease | Promise<BatchLease>;
  onDepth?: (depth: Record<Priority, number>) => void;
  onBatch?: (batch: { items: number; requests: number; inferenceMs: number }) => void;
}

export interface QueuedRequest {
  items: InferenceItem[];
  parameters: Record<string, unknown>;
  priority: Priority;
  /** Absolute time (clock ms) after which the request fails with INFERENCE_TIMEOUT. */
  deadline: number;
  /** Aborted when the client goes away: the request is dropped and fails with CANCELLED. */
  signal?: CancelSignal | undefined;
  /** Progress of this request's items while its batch runs; itemIndex indexes `items`. */
  onProgress?: (event: InferenceProgress) => void;
}

export interface QueuedResult {
  /** One output per item, in input order. */
  outputs: ItemOutput[];
  /** Items in the runner call that served this request. */
  batchSize: number;
  inferenceMs: number;
  queueMs: number;
}

interface Pending {
  request: QueuedRequest;
  key: string;
  arrivedAt: number;
  entry: QueueEntry<Pending> | undefined;
  settled: boolean;
  deadlineTimer: Timer | undefined;
  onAbort: (() => void) | undefined;
  resolve(result: QueuedResult): void;
  reject(err: ModelMoraError): void;
  /** Set while its batch runs: told when this request settles, so a batch nobody waits for stops. */
  onSettled: (() => void) | undefined;
}

/** Until the first batch is measured, Retry-After assumes this long per batch. */
const INITIAL_BATCH_MS = 100;
/** How long after a high-priority request lower levels keep their batches short. */
const HIGH_TRAFFIC_MS = 1000;
/** How long after one lower levels keep their batches at a quarter (see batchCap). */
const HIGH_RECENT_MS = 60_000;

/**
 * One model's dynamic batcher. Requests wait in a bounded priority queue; a batch is formed
 * from the head in priority order once `maxBatchSize` items wait or the oldest has waited
 * `maxDelayMs`, and is sent as one runner call. One batch is in flight at a time (a runner is
 * single-threaded); the next one fills up meanwhile. Expired requests never reach the runner.
 */
export class ModelQueue {
  private readonly queue: PriorityQueue<Pending>;
  private readonly options: ModelQueueOptions;
  private limits: BatchLimits;
  private waitingItems = 0;
  private inFlightRequests = 0;
  /** True from the start of an acquire to the release of its lease. */
  private busy = false;
  private delayTimer: { timer: Timer; at: number } | undefined;
  private avgBatchMs = INITIAL_BATCH_MS;
  /** When the last high-priority request arrived (-Infinity: never). */
  private lastHighAt = Number.NEGATIVE_INFINITY;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ModelQueueOptions) {
    this.options = options;
    this.limits = { maxBatchSize: options.maxBatchSize, maxDelayMs: options.maxDelayMs, maxQueueSize: options.maxQueueSize };
    this.queue = new PriorityQueue<Pending>({ agingMs: options.agingMs });
  }

  get modelId(): string {
    return this.options.modelId;
  }

  /** Per-model overrides can change while requests wait; they apply to the next batch. */
  setLimits(limits: BatchLimits): void {
    this.limits = { ...limits };
    this.schedule();
  }

  depth(): Record<Priority, number> {
    return this.queue.sizes();
  }

  get inFlight(): number {
    return this.inFlightRequests;
  }

  /** True when nothing waits and nothing runs. */
  get idle(): boolean {
    return this.queue.size === 0 && !this.busy;
  }

  /** Resolves once the queue is idle. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  submit(request: QueuedRequest): Promise<QueuedResult> {
    const now = this.options.clock.now();
    if (request.items.length === 0) return Promise.reject(new ModelMoraError('INVALID_INPUT', 'Request has no inputs'));
    if (request.signal?.aborted) return Promise.reject(cancelled());
    if (request.deadline <= now) return Promise.reject(timedOut());
    if (this.queue.size >= this.limits.maxQueueSize) {
      const retryAfter = this.retryAfterSeconds();
      return Promise.reject(
        new ModelMoraError('RATE_LIMIT_EXCEEDED', `Queue for model ${this.modelId} is full (${this.limits.maxQueueSize} requests); retry after ${retryAfter}s`, {
          details: { retry_after_seconds: retryAfter, max_queue_size: this.limits.maxQueueSize },
        }),
      );
    }
    return new Promise<QueuedResult>((resolve, reject) => {
      const pending: Pending = {
        request,
        key: parametersKey(request.parameters),
        arrivedAt: now,
        entry: undefined,
        settled: false,
        deadlineTimer: undefined,
        onAbort: undefined,
        resolve,
        reject,
        onSettled: undefined,
      };
      pending.entry = this.queue.enqueue(pending, request.priority, now);
      if (request.priority === 'high') this.lastHighAt = now;
      this.waitingItems += request.items.length;
      pending.deadlineTimer = this.options.clock.setTimer(() => this.fail(pending, timedOut()), request.deadline - now);
      if (request.signal) {
        pending.onAbort = () => this.fail(pending, cancelled());
        request.signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.depthChanged();
      this.schedule();
    });
  }

  /** Fails every waiting request (drain, model removed); in-flight ones finish. */
  rejectWaiting(err: ModelMoraError): void {
    for (const entry of [...this.queue.inOrder(this.options.clock.now())]) this.fail(entry.value, err);
  }

  /** Seconds until the queue has room again, from the measured batch time (at least 1). */
  private retryAfterSeconds(): number {
    const batchesAhead = Math.ceil(this.waitingItems / Math.max(1, this.limits.maxBatchSize)) + (this.busy ? 1 : 0);
    return Math.max(1, Math.ceil((batchesAhead * this.avgBatchMs) / 1000));
  }

  /** Settles a request that failed (timeout, abort, runner error), taking it out of the queue. */
  private fail(pending: Pending, err: ModelMoraError): void {
    if (pending.settled) return;
    const wasQueued = this.dequeue(pending);
    this.finish(pending);
    pending.reject(err);
    if (wasQueued) {
      this.depthChanged();
      this.schedule();
    }
  }

  private dequeue(pending: Pending): boolean {
    if (!pending.entry || !this.queue.remove(pending.entry)) return false;
    this.waitingItems -= pending.request.items.length;
    return true;
  }

  private finish(pending: Pending): void {
    pending.settled = true;
    pending.deadlineTimer?.cancel();
    if (pending.onAbort) pending.request.signal?.removeEventListener('abort', pending.onAbort);
    pending.onSettled?.();
  }

  /** Starts a batch when one is due, or arms the max-delay timer for when it will be. */
  private schedule(): void {
    if (this.busy) return;
    if (this.queue.size === 0) {
      this.cancelDelayTimer();
      const waiters = this.idleWaiters.splice(0);
      for (const wake of waiters) wake();
      return;
    }
    const now = this.options.clock.now();
    const dueAt = this.queue.oldestEnqueuedAt()! + this.limits.maxDelayMs;
    if (this.waitingItems >= this.limits.maxBatchSize || dueAt <= now) {
      this.cancelDelayTimer();
      void this.dispatch();
      return;
    }
    if (this.delayTimer?.at === dueAt) return;
    this.cancelDelayTimer();
    this.delayTimer = { at: dueAt, timer: this.options.clock.setTimer(() => ((this.delayTimer = undefined), this.schedule()), dueAt - now) };
  }

  private cancelDelayTimer(): void {
    this.delayTimer?.timer.cancel();
    this.delayTimer = undefined;
  }

  private async dispatch(): Promise<void> {
    this.busy = true;
    let lease: BatchLease;
    try {
      // A loaded model's lease comes back at once: no await, so the batch goes out in this tick.
      const got = this.options.acquire(this.latestDeadline());
      lease = got instanceof Promise ? await got : got;
    } catch (err) {
      // Everyone waiting was waiting on this runner: they share its failure (no memory, load failed).
      this.busy = false;
      this.rejectWaiting(toModelMoraError(err, 'MODEL_LOAD_FAILED'));
      this.schedule();
      return;
    }
    const batch = this.formBatch();
    if (batch.length === 0) {
      lease.release();
      this.busy = false;
      this.schedule();
      return;
    }
    const startedAt = this.options.clock.now();
    const items = batch.flatMap((p) => p.request.items);
    this.inFlightRequests += batch.length;
    this.depthChanged();
    // Once every request of the batch has gone (cancelled, timed out), the runner stops working
    // for nobody: a long generation is aborted rather than finished and dropped.
    const abandon = new AbortController();
    let waiting = batch.length;
    const settledOne = () => {
      if (--waiting === 0) abandon.abort();
    };
    for (const pending of batch) pending.onSettled = settledOne;
    let outcome: { result: RunnerBatchResult } | { error: ModelMoraError };
    try {
      const result = await lease.run({ items, parameters: batch[0]!.request.parameters }, abandon.signal, routeProgress(batch));
      if (result.outputs.length !== items.length) {
        throw new ModelMoraError('INFERENCE_FAILED', `Runner returned ${result.outputs.length} outputs for ${items.length} inputs`);
      }
      outcome = { result };
    } catch (err) {
      outcome = { error: toModelMoraError(err, 'INFERENCE_FAILED') };
    }
    for (const pending of batch) pending.onSettled = undefined;
    this.inFlightRequests -= batch.length;
    lease.release();
    this.busy = false;
    // The runner gets its next batch before this one's answers go out: writing a few dozen HTTP
    // answers takes milliseconds that the runner would otherwise spend idle.
    this.schedule();
    if ('error' in outcome) {
      for (const pending of batch) this.fail(pending, outcome.error);
      return;
    }
    const { result } = outcome;
    this.avgBatchMs = 0.8 * this.avgBatchMs + 0.2 * Math.max(0, this.options.clock.now() - startedAt);
    this.options.onBatch?.({ items: items.length, requests: batch.length, inferenceMs: result.inferenceMs });
    let offset = 0;
    for (const pending of batch) {
      const n = pending.request.items.length;
      const outputs = result.outputs.slice(offset, offset + n);
      offset += n;
      if (pending.settled) continue; // timed out or cancelled while running: its output is dropped
      this.finish(pending);
      pending.resolve({ outputs, batchSize: items.length, inferenceMs: result.inferenceMs, queueMs: startedAt - pending.arrivedAt });
    }
  }

  private latestDeadline(): number {
    let latest = 0;
    for (const entry of this.queue.inOrder(this.options.clock.now())) latest = Math.max(latest, entry.value.request.deadline);
    return latest;
  }

  /**
   * Takes requests from the head in priority order: the first live one sets the parameters
   * key and the priority level; then every request of that level with the same key whose items
   * still fit, up to maxBatchSize items. A batch never mixes levels: filling a high request's
   * batch with low ones would make it wait for a full batch under a low-priority flood (aging
   * still lifts old low requests into a higher level). The first request is always taken, so
   * one larger than maxBatchSize runs alone. Requests whose deadline passed are failed here.
   */
  private formBatch(): Pending[] {
    const now = this.options.clock.now();
    const expired: Pending[] = [];
    const batch: Pending[] = [];
    let key: string | undefined;
    let level: number | undefined;
    let size = 0;
    for (const entry of this.queue.inOrder(now)) {
      const pending = entry.value;
      if (pending.request.deadline <= now) {
        expired.push(pending);
        continue;
      }
      const n = pending.request.items.length;
      const entryLevel = this.queue.effectiveLevel(entry, now);
      if (key === undefined) [key, level] = [pending.key, entryLevel];
      else if (entryLevel !== level) break;
      else if (pending.key !== key || size + n > this.batchCap(entryLevel, now)) continue;
      batch.push(pending);
      size += n;
      if (size >= this.batchCap(entryLevel, now)) break;
    }
    for (const pending of expired) this.fail(pending, timedOut());
    for (const pending of batch) this.dequeue(pending);
    return batch;
  }

  /**
   * Items a batch of this level may hold. While high-priority requests keep arriving (one in the
   * last HIGH_TRAFFIC_MS), lower levels batch at most a sixteenth of max_batch_size: a high
   * request that arrives mid-batch then waits for a short batch, not a full one, at a small cost
   * to the flood's throughput. For a minute after that (HIGH_RECENT_MS) they batch at most a
   * quarter: high requests often come in bursts seconds apart, and the first of a burst would
   * otherwise wait for a whole full batch. The fractions were chosen on bench row 7
   * (bench/FINDINGS.md).
   */
  private batchCap(level: number, now: number): number {
    const max = this.limits.maxBatchSize;
    const sinceHigh = now - this.lastHighAt;
    if (level === 0 || sinceHigh >= HIGH_RECENT_MS) return max;
    return Math.max(1, Math.floor(max / (sinceHigh < HIGH_TRAFFIC_MS ? 16 : 4)));
  }

  private depthChanged(): void {
    this.options.onDepth?.(this.queue.sizes());
  }
}

/**
 * Maps a runner event on batch item i to the request owning that item, with the item's index
 * within that request. Requests that already settled (cancelled, timed out) hear nothing more.
 */
function routeProgress(batch: readonly Pending[]): ((event: RunnerProgress) => void) | undefined {
  if (!batch.some((p) => p.request.onProgress)) return undefined;
  const owners: Array<{ pending: Pending; itemIndex: number }> = [];
  for (const pending of batch) pending.request.items.forEach((_item, itemIndex) => owners.push({ pending, itemIndex }));
  return (event) => {
    const owner = owners[event.item];
    if (!owner || owner.pending.settled || !owner.pending.request.onProgress) return;
    const { item: _item, ...rest } = event;
    try {
      owner.pending.request.onProgress({ ...rest, itemIndex: owner.itemIndex });
    } catch {
      // One caller's broken listener must not fail the batch of the others.
    }
  };
}

function timedOut(): ModelMoraError {
  return new ModelMoraError('INFERENCE_TIMEOUT', 'Request deadline passed before the model answered');
}

function cancelled(): ModelMoraError {
  return new ModelMoraError('CANCELLED', 'Request cancelled by the client');
}
