import type { Clock } from '../domain/clock.js';
import type { ModelStatus } from '../domain/engine.js';
import { ModelMoraError } from '../domain/errors.js';
import type { RunnerFactory, RunnerHandle } from '../domain/runner.js';
import { planEviction, type ResidentModel } from './eviction-policy.js';
import { notify, type EngineObserver, type EvictionReason } from './observer.js';
import { Resident, unloadingError, type RunnerLease } from './resident.js';
import { RssHistory } from './rss-history.js';
import { MIB, type ModelServingSpec } from './serving-spec.js';

export interface ResidencyOptions {
  budgetBytes: number;
  /** Server default keep_alive in ms (-1 forever, 0 unload after use). */
  defaultKeepAliveMs: number;
  runnerFactory: RunnerFactory;
  clock: Clock;
  observer?: EngineObserver;
  /** Least time between two RSS measurements of one runner after batches. */
  rssRefreshMs?: number;
  /** Restart delay after the n-th consecutive failure: initialMs * 2^(n-1), capped at maxMs. */
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * Rounds of evict-and-recheck before a load gives up. Why a recheck is needed at all: a plan
 * counts every other model at its bytes when it is made, loading ones at their estimate, so
 * concurrent loads already account for each other; what can change while the evictions run is
 * a measured RSS coming in above its estimate (refreshRss). Why it is bounded: each round that
 * goes on stopped at least one model, and a round finds too little room again only if some
 * runner grew meanwhile, so the cap only ends a load racing a model that keeps growing.
 */
const MAX_ROOM_ROUNDS = 8;

/**
 * Which models have a runner: lazy single-flight loads, refcounted leases, keep-alive,
 * memory budget with eviction, crash detection and restart with backoff.
 */
export class Residency {
  private readonly entries = new Map<string, Resident>();
  private readonly rss = new RssHistory();
  private readonly opts: Required<Omit<ResidencyOptions, 'observer'>> & { observer: EngineObserver | undefined };

  constructor(options: ResidencyOptions) {
    this.opts = {
      rssRefreshMs: 5000,
      backoff: { initialMs: 500, maxMs: 30_000 },
      ...options,
      observer: options.observer,
    };
  }

  private get now(): number {
    return this.opts.clock.now();
  }

  /**
   * Gets the model's runner for one batch, loading (or restarting) it if needed. A model in
   * restart backoff is waited for, unless it cannot restart before `deadline`: then
   * UNHEALTHY_MODEL at once rather than a timeout later.
   */
  async acquire(spec: ModelServingSpec, deadline = Number.POSITIVE_INFINITY): Promise<RunnerLease> {
    const entry = this.entries.get(spec.load.modelId);
    if (entry?.unloading) throw unloadingError(spec.load.modelId);
    if (entry?.state === 'unhealthy' && !entry.ready && entry.retryAt >= deadline) {
      const retryAfter = Math.max(1, Math.ceil((entry.retryAt - this.now) / 1000));
      throw new ModelMoraError('UNHEALTHY_MODEL', entry.lastError ?? `Model ${entry.modelId} is unhealthy`, {
        details: { retry_after_seconds: retryAfter },
      });
    }
    const ready = this.leaseIfLoaded(spec);
    if (ready) return ready;
    await this.ensureLoad(spec);
    return this.leaseIfLoaded(spec) ?? this.lostAfterLoad(spec.load.modelId);
  }

  /**
   * A load resolves only once its model is loaded, so when the lease right after it fails, one
   * of two things happened in between: the new runner died, or an unload (an eviction by another
   * load) took the model. Each is answered as what it is; loading again here would only race
   * the same event, which is why acquire and load need no retry loop.
   */
  private lostAfterLoad(modelId: string): never {
    const entry = this.entries.get(modelId);
    if (entry?.state === 'unhealthy' && !entry.unloading) {
      throw new ModelMoraError('UNHEALTHY_MODEL', entry.lastError ?? `Runner of model ${modelId} died`);
    }
    throw new ModelMoraError('SERVICE_UNAVAILABLE', `Model ${modelId} was unloaded while starting; retry`);
  }

  /** acquire's common case without a promise: the model is loaded and not being unloaded. */
  leaseIfLoaded(spec: ModelServingSpec): RunnerLease | undefined {
    const entry = this.entries.get(spec.load.modelId);
    if (!entry || entry.unloading || entry.state !== 'loaded' || !entry.handle) return undefined;
    entry.spec = spec;
    return this.lease(entry, entry.handle);
  }

  /** Loads the model if it is not loaded (explicit load, preload); it then idles under keep-alive. */
  async load(spec: ModelServingSpec): Promise<void> {
    if (!this.keepLoaded(spec)) {
      await this.ensureLoad(spec);
      if (!this.keepLoaded(spec)) this.lostAfterLoad(spec.load.modelId);
    }
  }

  /** True when the model is loaded (its keep-alive then runs); throws if it is being unloaded. */
  private keepLoaded(spec: ModelServingSpec): boolean {
    const entry = this.entries.get(spec.load.modelId);
    if (entry?.unloading) throw unloadingError(spec.load.modelId);
    if (entry?.state !== 'loaded') return false;
    entry.spec = spec;
    // keep_alive 0 means "after use": a model loaded on purpose waits for its first use.
    if (entry.refs === 0 && !entry.keepAlive && this.keepAliveOf(entry) > 0) this.armKeepAlive(entry);
    return true;
  }

  /** Unloads now if idle, else once in-flight batches finish; resolves when it is gone. */
  async unload(modelId: string, reason: EvictionReason = 'unload'): Promise<void> {
    const entry = this.entries.get(modelId);
    if (!entry) throw new ModelMoraError('MODEL_NOT_LOADED', `Model ${modelId} is not loaded`);
    entry.beginUnload(reason);
    entry.loadAbort?.abort();
    if (entry.state === 'unhealthy' && !entry.ready) this.remove(entry, reason);
    else if (entry.state === 'loaded' && entry.refs === 0) void this.stop(entry, reason);
    // A loading entry notices `unloading` when its load ends; a busy one on its last release.
    await entry.gone.promise;
  }

  /** Stops every runner (drain): in-flight batches on them fail with SERVICE_UNAVAILABLE. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.entries.values()].map((entry) => {
        entry.beginUnload('drain');
        entry.loadAbort?.abort();
        if (entry.state === 'loading') return entry.gone.promise;
        return this.stop(entry, 'drain');
      }),
    );
  }

  /** True from an unload (or eviction) request until the runner is gone. */
  isUnloading(modelId: string): boolean {
    return this.entries.get(modelId)?.unloading ?? false;
  }

  statuses(): ModelStatus[] {
    return [...this.entries.values()].map((e) => e.status(this.keepAliveOf(e) < 0));
  }

  status(modelId: string): ModelStatus | undefined {
    const entry = this.entries.get(modelId);
    return entry && entry.status(this.keepAliveOf(entry) < 0);
  }

  usedBytes(): number {
    let used = 0;
    for (const e of this.entries.values()) if (!e.stopping) used += e.bytes;
    return used;
  }

  private keepAliveOf(entry: Resident): number {
    return entry.spec.keepAliveMs ?? this.opts.defaultKeepAliveMs;
  }

  /** Starts the model's load, or joins the one in progress. */
  private ensureLoad(spec: ModelServingSpec): Promise<void> {
    let entry = this.entries.get(spec.load.modelId);
    if (entry?.ready) return entry.ready;
    if (!entry) {
      entry = new Resident(spec, this.now);
      this.entries.set(entry.modelId, entry);
    }
    entry.spec = spec;
    entry.startLoading(this.rss.estimate(spec));
    const loading = entry;
    loading.ready = this.loadRunner(loading).finally(() => (loading.ready = undefined));
    return loading.ready;
  }

  private async loadRunner(entry: Resident): Promise<void> {
    const { clock, observer } = this.opts;
    const wait = entry.retryAt - clock.now();
    if (wait > 0) await new Promise<void>((resolve) => clock.setTimer(resolve, wait));
    if (entry.unloading) return this.abandon(entry);
    try {
      await this.makeRoom(entry);
    } catch (err) {
      this.backToRest(entry);
      throw err;
    }
    if (entry.unloading) return this.abandon(entry);
    const started = clock.now();
    const restart = entry.failures > 0;
    let handle: RunnerHandle;
    entry.loadAbort = new AbortController();
    try {
      handle = await this.opts.runnerFactory(entry.spec.load, entry.loadAbort.signal);
    } catch (err) {
      if (entry.unloading) return this.abandon(entry);
      const error =
        err instanceof ModelMoraError ? err : new ModelMoraError('MODEL_LOAD_FAILED', `Model ${entry.modelId} failed to load`, { cause: err });
      entry.failed(this.now, this.opts.backoff, error.message);
      notify(observer, 'loadFailed', { modelId: entry.modelId, errorCode: error.code, message: error.message, durationMs: clock.now() - started });
      throw error;
    } finally {
      entry.loadAbort = undefined;
    }
    if (entry.unloading) {
      await handle.stop().catch(() => undefined);
      return this.abandon(entry);
    }
    entry.loadedWith(handle, clock.now());
    const watch = entry.death;
    void handle.exited.then((info) => {
      if (entry.handle !== handle || entry.stopping) return;
      const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
      const message = `Runner of model ${entry.modelId} exited unexpectedly (${how})`;
      entry.failed(this.now, this.opts.backoff, message);
      watch.kill(new ModelMoraError('UNHEALTHY_MODEL', message));
      notify(observer, 'runnerDied', { modelId: entry.modelId, pid: handle.pid, exitCode: info.code, signal: info.signal, message });
      if (entry.unloading) this.remove(entry, entry.unloadReason);
      this.reportCounts();
    });
    const rss = await handle.rssBytes().catch(() => 0);
    if (rss > 0 && entry.handle === handle) {
      entry.bytes = rss;
      this.rss.record(entry.modelId, rss);
    }
    entry.lastRssAt = clock.now();
    notify(observer, 'modelLoaded', { modelId: entry.modelId, pid: handle.pid, durationMs: clock.now() - started, bytes: entry.bytes, restart });
    notify(observer, 'modelMemory', entry.modelId, entry.bytes);
    this.reportCounts();
    this.trim(entry);
  }

  /** Evicts idle models (and drains busy ones if it must) until the entry's estimate fits. */
  private async makeRoom(entry: Resident): Promise<void> {
    for (let round = 0; round < MAX_ROOM_ROUNDS; round++) {
      const models = this.others(entry);
      const plan = planEviction(models, this.opts.budgetBytes, entry.bytes, this.now);
      if (plan === 'does-not-fit') {
        const held = models.filter((m) => m.pinned || m.loading).reduce((sum, m) => sum + m.bytes, 0);
        const mb = (n: number) => Math.ceil(n / MIB);
        throw new ModelMoraError(
          'INSUFFICIENT_MEMORY',
          `Model ${entry.modelId} needs about ${mb(entry.bytes)} MB; the budget is ${mb(this.opts.budgetBytes)} MB and ${mb(held)} MB cannot be freed`,
          { details: { required_mb: mb(entry.bytes), budget_mb: mb(this.opts.budgetBytes), available_mb: Math.max(0, mb(this.opts.budgetBytes - held)) } },
        );
      }
      if (plan.evict.length === 0 && plan.drain.length === 0) return;
      await Promise.all([...plan.evict, ...plan.drain].map((id) => this.evict(this.entries.get(id)!)));
    }
    throw new ModelMoraError('SERVICE_UNAVAILABLE', `No room could be made for model ${entry.modelId}; retry`);
  }

  /**
   * A measured RSS can exceed what the load made room for (the estimate was low, or a batch grew
   * the runner): evict as the load would have, so the budget holds again. Not the measured model
   * itself, and nothing when even that would not be enough.
   */
  private trim(entry: Resident): void {
    const plan = planEviction(this.others(entry), this.opts.budgetBytes, entry.bytes, this.now);
    if (plan === 'does-not-fit') return;
    for (const id of [...plan.evict, ...plan.drain]) void this.evict(this.entries.get(id)!);
  }

  /** Every other model holding memory, as the eviction policy sees it. */
  private others(entry: Resident): ResidentModel[] {
    return [...this.entries.values()]
      .filter((e) => e !== entry && !e.stopping && e.bytes > 0)
      .map((e) => ({
        id: e.modelId,
        bytes: e.bytes,
        lastUsedAt: e.lastUsedAt,
        pinned: this.keepAliveOf(e) < 0,
        inFlight: e.refs,
        loading: e.state === 'loading',
      }));
  }

  /** Unloads for memory: now if idle, else when its in-flight batches are released. */
  private evict(victim: Resident): Promise<void> {
    victim.beginUnload('memory');
    if (victim.refs === 0) void this.stop(victim, 'memory');
    return victim.gone.promise;
  }

  private lease(entry: Resident, handle: RunnerHandle): RunnerLease {
    entry.refs++;
    entry.lastUsedAt = this.now;
    entry.cancelKeepAlive();
    const death = entry.death;
    let released = false;
    return {
      handle,
      run: async (batch, signal, onProgress) => {
        try {
          const result = await death.race(handle.run(batch, signal, onProgress));
          entry.succeeded(this.now);
          this.refreshRss(entry, handle);
          return result;
        } catch (err) {
          if (entry.stopping && entry.handle === handle) {
            throw new ModelMoraError('SERVICE_UNAVAILABLE', `Model ${entry.modelId} was stopped`, { cause: err });
          }
          if (entry.handle !== handle) {
            throw new ModelMoraError('UNHEALTHY_MODEL', entry.lastError ?? `Runner of model ${entry.modelId} died`, { cause: err });
          }
          if (err instanceof ModelMoraError) throw err;
          throw new ModelMoraError('INFERENCE_FAILED', `Inference failed on model ${entry.modelId}`, { cause: err });
        }
      },
      release: () => {
        if (released) return;
        released = true;
        this.release(entry);
      },
    };
  }

  private release(entry: Resident): void {
    entry.refs--;
    entry.lastUsedAt = this.now;
    if (entry.refs > 0 || entry.state !== 'loaded' || entry.stopping) return;
    if (entry.unloading) void this.stop(entry, entry.unloadReason);
    else this.armKeepAlive(entry);
  }

  private armKeepAlive(entry: Resident): void {
    const keep = this.keepAliveOf(entry);
    entry.cancelKeepAlive();
    if (keep < 0) return;
    if (keep === 0) {
      void this.stop(entry, 'keep_alive');
      return;
    }
    const timer = this.opts.clock.setTimer(
      () => {
        entry.cancelKeepAlive();
        if (entry.refs === 0 && entry.state === 'loaded' && !entry.unloading) void this.stop(entry, 'keep_alive');
      },
      keep,
      { unref: true },
    );
    entry.armKeepAlive(timer, this.now + keep);
  }

  private refreshRss(entry: Resident, handle: RunnerHandle): void {
    if (this.now - entry.lastRssAt < this.opts.rssRefreshMs) return;
    entry.lastRssAt = this.now;
    void handle.rssBytes().then(
      (rss) => {
        if (rss <= 0 || entry.handle !== handle || entry.stopping) return;
        entry.bytes = rss;
        notify(this.opts.observer, 'modelMemory', entry.modelId, rss);
        this.trim(entry);
      },
      () => undefined,
    );
  }

  /** Stops the runner and forgets the model; resolves when the process is gone. */
  private async stop(entry: Resident, reason: EvictionReason): Promise<void> {
    if (!entry.beginStop(reason)) return entry.gone.promise;
    const bytes = entry.bytes;
    if (entry.handle) await entry.handle.stop().catch(() => undefined);
    this.remove(entry, reason, bytes);
  }

  private remove(entry: Resident, reason: EvictionReason, bytes = entry.bytes): void {
    if (this.entries.get(entry.modelId) === entry) this.entries.delete(entry.modelId);
    entry.cancelKeepAlive();
    entry.gone.resolve();
    if (entry.loadedAt !== undefined) notify(this.opts.observer, 'modelUnloaded', { modelId: entry.modelId, pid: entry.handle?.pid, bytes, reason });
    notify(this.opts.observer, 'modelMemory', entry.modelId, 0);
    this.reportCounts();
  }

  /** A load was called off by an unload: nobody waiting on it gets a runner. */
  private abandon(entry: Resident): never {
    this.remove(entry, entry.unloadReason);
    throw unloadingError(entry.modelId);
  }

  /** A load that could not start leaves the model as it was: unknown, or unhealthy if it was. */
  private backToRest(entry: Resident): void {
    if (entry.failures > 0) {
      entry.rest();
    } else {
      this.remove(entry, entry.unloadReason);
    }
  }

  private reportCounts(): void {
    let loaded = 0;
    for (const e of this.entries.values()) if (e.state === 'loaded') loaded++;
    notify(this.opts.observer, 'loadedCount', loaded);
  }
}
