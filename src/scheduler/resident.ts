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

/** Where a model is in its life: the one field every rule of Residency reads first. */
export type ResidentState = 'loading' | 'loaded' | 'unhealthy';

/**
 * One model the scheduler holds (or is loading, or saw die), owned by Residency. Its state
 * changes only through the transition methods below, each of which checks the state it leaves:
 * an illegal transition is a scheduler bug and throws, instead of leaving a model half in two
 * states. Residency coordinates (budget, eviction, single-flight loads) and calls them.
 *
 *   loading --loadedWith--> loaded --failed--> unhealthy --startLoading--> loading
 *   loading --failed / rest--> unhealthy          (unloading / stopping are flags on any state)
 */
export class Resident {
  readonly modelId: string;
  private current: ResidentState = 'loading';
  private runner: RunnerHandle | undefined;
  /** The one load in progress (single flight); everyone asking waits on it. */
  ready: Promise<void> | undefined;
  /** Aborts the runner factory call of the load in progress (unload, drain). */
  loadAbort: AbortController | undefined;
  /** The current runner's death (UNHEALTHY_MODEL), raced against each run. */
  death = new DeathWatch();
  /** Measured RSS once loaded, the estimate while loading, 0 when unhealthy. */
  bytes = 0;
  loadedAt: number | undefined;
  lastUsedAt: number;
  /** Batches running on it. */
  refs = 0;
  private unloadingSince = false;
  private reason: EvictionReason = 'unload';
  private stopRequested = false;
  readonly gone: { promise: Promise<void>; resolve(): void };
  private keepAliveTimer: { timer: Timer; expiresAt: number } | undefined;
  /** Consecutive failures (crash or failed load); reset by a successful batch. */
  private failureCount = 0;
  /** No restart before this time (backoff). */
  private retryTime = 0;
  private error: string | undefined;
  lastCheckAt: number;
  lastRssAt = 0;

  constructor(
    public spec: ModelServingSpec,
    now: number,
  ) {
    this.modelId = spec.load.modelId;
    this.lastUsedAt = now;
    this.lastCheckAt = now;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.gone = { promise, resolve };
  }

  get state(): ResidentState {
    return this.current;
  }
  /** The runner, while loaded. */
  get handle(): RunnerHandle | undefined {
    return this.runner;
  }
  /** No new work; stop once refs reach 0. */
  get unloading(): boolean {
    return this.unloadingSince;
  }
  get unloadReason(): EvictionReason {
    return this.reason;
  }
  /** stop() called: its exit is expected, not a crash. */
  get stopping(): boolean {
    return this.stopRequested;
  }
  get keepAlive(): { readonly expiresAt: number } | undefined {
    return this.keepAliveTimer;
  }
  get failures(): number {
    return this.failureCount;
  }
  get retryAt(): number {
    return this.retryTime;
  }
  get lastError(): string | undefined {
    return this.error;
  }

  /** A (re)load begins, its size the estimate until the runner is measured. From a new entry or unhealthy. */
  startLoading(estimateBytes: number): void {
    if (this.current === 'loaded') throw new Error(`Resident ${this.modelId}: cannot start loading a loaded model`);
    this.current = 'loading';
    this.bytes = estimateBytes;
  }

  /** The runner is up: loaded, with a fresh death watch. From loading only. */
  loadedWith(handle: RunnerHandle, now: number): void {
    if (this.current !== 'loading') throw new Error(`Resident ${this.modelId}: loaded while ${this.current}`);
    this.current = 'loaded';
    this.runner = handle;
    this.death = new DeathWatch();
    this.loadedAt = now;
    this.lastUsedAt = now;
    this.lastCheckAt = now;
  }

  /** The runner failed (crash or failed load): unhealthy, restartable after initialMs * 2^(failures-1), capped at maxMs. */
  failed(now: number, backoff: { initialMs: number; maxMs: number }, message: string): void {
    if (this.current === 'unhealthy') throw new Error(`Resident ${this.modelId}: failed twice without a load between`);
    this.failureCount++;
    this.retryTime = now + Math.min(backoff.maxMs, backoff.initialMs * 2 ** (this.failureCount - 1));
    this.current = 'unhealthy';
    this.runner = undefined;
    this.bytes = 0;
    this.error = message;
    this.lastCheckAt = now;
    this.cancelKeepAlive();
  }

  /** A restart that could not start (no room): back to unhealthy, with the failure it had. From loading only. */
  rest(): void {
    if (this.current !== 'loading' || this.failureCount === 0) throw new Error(`Resident ${this.modelId}: nothing to rest from (${this.current})`);
    this.current = 'unhealthy';
    this.bytes = 0;
  }

  /** A batch succeeded: the model is healthy again and its failure count starts over. */
  succeeded(now: number): void {
    this.failureCount = 0;
    this.error = undefined;
    this.lastCheckAt = now;
  }

  /** No new work from now on; the first reason given is the one reported. */
  beginUnload(reason: EvictionReason): void {
    if (!this.unloadingSince) {
      this.unloadingSince = true;
      this.reason = reason;
    }
    this.cancelKeepAlive();
  }

  /** Its runner is being stopped: the exit that follows is expected. Returns false if it already was. */
  beginStop(reason: EvictionReason): boolean {
    if (this.stopRequested) return false;
    this.beginUnload(reason);
    this.stopRequested = true;
    return true;
  }

  armKeepAlive(timer: Timer, expiresAt: number): void {
    this.cancelKeepAlive();
    this.keepAliveTimer = { timer, expiresAt };
  }

  /** The keep-alive timer fired (or was cancelled). */
  cancelKeepAlive(): void {
    this.keepAliveTimer?.timer.cancel();
    this.keepAliveTimer = undefined;
  }

  status(pinned: boolean): ModelStatus {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const healthy = this.current !== 'unhealthy' && this.error === undefined;
    const status: ModelStatus = {
      model_id: this.modelId,
      state: this.current,
      memory_usage_mb: Math.round((this.bytes / MIB) * 10) / 10,
      device: 'cpu',
      pinned,
      in_flight: this.refs,
      health_status: { healthy, last_check_at: new Date(this.lastCheckAt).toISOString() },
    };
    if (this.error !== undefined) status.health_status.error_message = this.error;
    if (this.loadedAt !== undefined && this.current === 'loaded') status.loaded_at = iso(this.loadedAt)!;
    if (this.current === 'loaded') status.last_used_at = iso(this.lastUsedAt)!;
    if (this.current === 'loaded' && this.runner?.pid !== undefined) status.pid = this.runner.pid;
    if (this.keepAliveTimer) status.expires_at = iso(this.keepAliveTimer.expiresAt)!;
    return status;
  }
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

export function unloadingError(modelId: string): ModelMoraError {
  return new ModelMoraError('SERVICE_UNAVAILABLE', `Model ${modelId} is being unloaded; retry shortly`);
}
