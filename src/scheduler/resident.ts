import type { Timer } from '../domain/clock.js';
import type { ModelStatus } from '../domain/engine.js';
import { ModelMoraError } from '../domain/errors.js';
import type { RunnerBatch, RunnerBatchResult, RunnerHandle, RunnerProgress } from '../domain/runner.js';
import type { EvictionReason } from './observer.js';
import { MIB, type ModelServingSpec } from './serving-spec.js';

/** A model's runner, held for one batch. */
export interface RunnerLease {
  readonly handle: RunnerHandle;
  /** `signal` cancels the runner's work; `onProgress` gets its per-item progress (tokens, steps). */
  run(batch: RunnerBatch, signal?: AbortSignal, onProgress?: (event: RunnerProgress) => void): Promise<RunnerBatchResult>;
  /** Idempotent. */
  release(): void;
}

/** One model the scheduler holds (or is loading, or saw die). Mutable; owned by Residency. */
export interface Resident {
  readonly modelId: string;
  spec: ModelServingSpec;
  state: 'loading' | 'loaded' | 'unhealthy';
  handle: RunnerHandle | undefined;
  /** The one load in progress (single flight); everyone asking waits on it. */
  ready: Promise<void> | undefined;
  /** Aborts the runner factory call of the load in progress (unload, drain). */
  loadAbort: AbortController | undefined;
  /** The current runner's death (UNHEALTHY_MODEL), raced against each run. */
  death: DeathWatch;
  /** Measured RSS once loaded, the estimate while loading, 0 when unhealthy. */
  bytes: number;
  loadedAt: number | undefined;
  lastUsedAt: number;
  /** Batches running on it. */
  refs: number;
  /** No new work; stop once refs reach 0. */
  unloading: boolean;
  unloadReason: EvictionReason;
  /** stop() called: its exit is expected, not a crash. */
  stopping: boolean;
  gone: { promise: Promise<void>; resolve(): void };
  keepAlive: { timer: Timer; expiresAt: number } | undefined;
  /** Consecutive failures (crash or failed load); reset by a successful batch. */
  failures: number;
  /** No restart before this time (backoff). */
  retryAt: number;
  lastError: string | undefined;
  lastCheckAt: number;
  lastRssAt: number;
}

export function newResident(spec: ModelServingSpec, now: number): Resident {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return {
    modelId: spec.load.modelId,
    spec,
    state: 'loading',
    handle: undefined,
    ready: undefined,
    loadAbort: undefined,
    death: new DeathWatch(),
    bytes: 0,
    loadedAt: undefined,
    lastUsedAt: now,
    refs: 0,
    unloading: false,
    unloadReason: 'unload',
    stopping: false,
    gone: { promise, resolve },
    keepAlive: undefined,
    failures: 0,
    retryAt: 0,
    lastError: undefined,
    lastCheckAt: now,
    lastRssAt: 0,
  };
}

/**
 * A runner's death, which every run waits on alongside its result. Not a promise raced with
 * Promise.race: a race leaves a reaction on a promise that never settles while the runner
 * lives, and each reaction holds its race's settled result, so every batch output the runner
 * ever returned (3 MB per answer on a wide model) stayed reachable until the runner died.
 * Here a run's waiter is removed as soon as the run settles.
 */
export class DeathWatch {
  private error: ModelMoraError | undefined;
  private readonly waiters = new Set<(err: ModelMoraError) => void>();

  /** Rejects the runs waiting now and every later race (first call wins). */
  kill(err: ModelMoraError): void {
    if (this.error) return;
    this.error = err;
    for (const waiter of this.waiters) waiter(err);
    this.waiters.clear();
  }

  /** Settles as `work` does, unless the runner dies first: then rejects with the death's error. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.error) {
      work.catch(() => undefined); // its own failure no longer matters
      return Promise.reject(this.error);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(reject);
      work.then(
        (value) => {
          this.waiters.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.waiters.delete(reject);
          reject(err);
        },
      );
    });
  }

  /** Runs waiting on this death right now (tests: none stay once their run settled). */
  get waiting(): number {
    return this.waiters.size;
  }
}

export function residentStatus(r: Resident, pinned: boolean): ModelStatus {
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  const healthy = r.state !== 'unhealthy' && r.lastError === undefined;
  const status: ModelStatus = {
    model_id: r.modelId,
    state: r.state,
    memory_usage_mb: Math.round((r.bytes / MIB) * 10) / 10,
    device: 'cpu',
    pinned,
    in_flight: r.refs,
    health_status: { healthy, last_check_at: new Date(r.lastCheckAt).toISOString() },
  };
  if (r.lastError !== undefined) status.health_status.error_message = r.lastError;
  if (r.loadedAt !== undefined && r.state === 'loaded') status.loaded_at = iso(r.loadedAt)!;
  if (r.state === 'loaded') status.last_used_at = iso(r.lastUsedAt)!;
  if (r.state === 'loaded' && r.handle?.pid !== undefined) status.pid = r.handle.pid;
  if (r.keepAlive) status.expires_at = iso(r.keepAlive.expiresAt)!;
  return status;
}

export function cancelKeepAlive(entry: Resident): void {
  entry.keepAlive?.timer.cancel();
  entry.keepAlive = undefined;
}

/** The runner failed: unhealthy, restartable after a backoff of initialMs * 2^(failures-1), capped at maxMs. */
export function markFailed(entry: Resident, now: number, backoff: { initialMs: number; maxMs: number }, message: string): void {
  entry.failures++;
  entry.retryAt = now + Math.min(backoff.maxMs, backoff.initialMs * 2 ** (entry.failures - 1));
  entry.state = 'unhealthy';
  entry.handle = undefined;
  entry.bytes = 0;
  entry.lastError = message;
  entry.lastCheckAt = now;
  cancelKeepAlive(entry);
}

export function unloadingError(modelId: string): ModelMoraError {
  return new ModelMoraError('SERVICE_UNAVAILABLE', `Model ${modelId} is being unloaded; retry shortly`);
}
