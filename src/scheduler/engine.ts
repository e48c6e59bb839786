import type { Config } from '../config/config.js';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Engine, InferOptions, ModelStatus, QueueDepth } from '../domain/engine.js';
import { ModelMoraError, toModelMoraError } from '../domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../domain/inference.js';
import type { RunnerFactory } from '../domain/runner.js';
import { ModelQueue, type BatchLimits } from '../queue/model-queue.js';
import { notify, type EngineObserver } from './observer.js';
import { Residency, type ResidencyOptions } from './residency.js';
import { MIB, type ModelServingSpec } from './serving-spec.js';

export type EngineConfig = Pick<
  Config,
  'memory_budget_mb' | 'keep_alive' | 'max_queue_size' | 'max_batch_size' | 'max_delay_ms' | 'priority_aging_ms'
>;

export interface ServingEngineDeps {
  config: EngineConfig;
  runnerFactory: RunnerFactory;
  /** The model's serving spec from the registry; throws MODEL_NOT_FOUND for unknown models. */
  lookup: (modelId: string) => Promise<ModelServingSpec>;
  clock?: Clock;
  observer?: EngineObserver;
  /** Tuning of restarts and RSS sampling (tests shorten them). */
  residency?: Pick<ResidencyOptions, 'rssRefreshMs' | 'backoff'>;
}

/**
 * The Engine: one ModelQueue (priority queue + dynamic batcher) per model, feeding runners that
 * Residency loads, keeps, evicts and restarts. REST, gRPC and jobs call only this.
 */
export class ServingEngine implements Engine {
  private readonly config: EngineConfig;
  private readonly clock: Clock;
  private readonly observer: EngineObserver | undefined;
  private readonly lookup: (modelId: string) => Promise<ModelServingSpec>;
  private readonly residency: Residency;
  private readonly queues = new Map<string, ModelQueue>();
  /** The latest spec per model: the queue's runner loads with it. */
  private readonly specs = new Map<string, ModelServingSpec>();
  /** The spec each queue last took its batch limits from. */
  private readonly limitsFrom = new Map<string, ModelServingSpec>();
  private draining = false;

  constructor(deps: ServingEngineDeps) {
    this.config = deps.config;
    this.clock = deps.clock ?? systemClock;
    this.observer = deps.observer;
    this.lookup = deps.lookup;
    this.residency = new Residency({
      ...deps.residency,
      budgetBytes: deps.config.memory_budget_mb * MIB,
      defaultKeepAliveMs: deps.config.keep_alive,
      runnerFactory: deps.runnerFactory,
      clock: this.clock,
      observer: deps.observer,
    });
  }

  async infer(request: InferenceRequest, options: InferOptions = {}): Promise<InferenceResult> {
    const started = this.clock.now();
    let spec: ModelServingSpec | undefined;
    try {
      this.refuseIfDraining();
      spec = await this.lookup(request.modelId);
      this.refuseIfDraining();
      if (this.residency.isUnloading(request.modelId)) {
        throw new ModelMoraError('SERVICE_UNAVAILABLE', `Model ${request.modelId} is being unloaded; retry shortly`);
      }
      const queue = this.queueFor(spec);
      const done = await queue.submit({
        items: request.items,
        parameters: request.parameters,
        priority: request.priority,
        deadline: started + request.timeoutSeconds * 1000,
        signal: options.signal,
        onProgress: options.onProgress,
      });
      const totalMs = this.clock.now() - started;
      notify(this.observer, 'queueWait', { modelId: request.modelId, priority: request.priority, ms: done.queueMs });
      return {
        modelId: request.modelId,
        taskType: spec.load.taskType,
        outputs: done.outputs,
        batched: request.batched,
        metadata: {
          inference_time_ms: done.inferenceMs,
          total_time_ms: totalMs,
          batch_size: done.batchSize,
          device: 'cpu',
          queue_time_ms: done.queueMs,
        },
      };
    } catch (err) {
      throw toModelMoraError(err);
    }
  }

  async load(modelId: string): Promise<ModelStatus> {
    this.refuseIfDraining();
    const spec = this.remember(await this.lookup(modelId));
    await this.residency.load(spec);
    return this.status(modelId) ?? notLoaded(modelId);
  }

  /** Loads models marked `preload: true`, one at a time; a failure does not stop the others. */
  async preload(modelIds: readonly string[]): Promise<{ modelId: string; error?: ModelMoraError }[]> {
    const results: { modelId: string; error?: ModelMoraError }[] = [];
    for (const modelId of modelIds) {
      try {
        await this.load(modelId);
        results.push({ modelId });
      } catch (err) {
        results.push({ modelId, error: toModelMoraError(err) });
      }
    }
    return results;
  }

  async unload(modelId: string): Promise<void> {
    await this.residency.unload(modelId);
  }

  models(): ModelStatus[] {
    return this.residency.statuses().map((s) => ({ ...s, in_flight: this.queues.get(s.model_id)?.inFlight ?? 0 }));
  }

  status(modelId: string): ModelStatus | undefined {
    const s = this.residency.status(modelId);
    return s && { ...s, in_flight: this.queues.get(modelId)?.inFlight ?? 0 };
  }

  queueDepth(): QueueDepth {
    const depth: QueueDepth = { high_priority: 0, medium_priority: 0, low_priority: 0 };
    for (const queue of this.queues.values()) {
      const d = queue.depth();
      depth.high_priority += d.high;
      depth.medium_priority += d.medium;
      depth.low_priority += d.low;
    }
    return depth;
  }

  memory(): { used_mb: number; budget_mb: number } {
    return { used_mb: Math.round((this.residency.usedBytes() / MIB) * 10) / 10, budget_mb: this.config.memory_budget_mb };
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * New requests get SERVICE_UNAVAILABLE; queued and in-flight ones get up to `timeoutMs` to
   * finish; whatever still waits then fails with SERVICE_UNAVAILABLE and every runner stops.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<void>((resolve) => (timer = this.clock.setTimer(resolve, timeoutMs)));
    await Promise.race([Promise.all([...this.queues.values()].map((q) => q.whenIdle())), timeout]);
    timer?.cancel();
    const error = new ModelMoraError('SERVICE_UNAVAILABLE', 'Server is shutting down');
    for (const queue of this.queues.values()) queue.rejectWaiting(error);
    await this.residency.stopAll();
  }

  private refuseIfDraining(): void {
    if (this.draining) throw new ModelMoraError('SERVICE_UNAVAILABLE', 'Server is shutting down');
  }

  private remember(spec: ModelServingSpec): ModelServingSpec {
    this.specs.set(spec.load.modelId, spec);
    return spec;
  }

  private limitsOf(spec: ModelServingSpec): BatchLimits {
    return {
      maxBatchSize: spec.maxBatchSize ?? this.config.max_batch_size,
      maxDelayMs: spec.maxDelayMs ?? this.config.max_delay_ms,
      maxQueueSize: spec.maxQueueSize ?? this.config.max_queue_size,
    };
  }

  private queueFor(spec: ModelServingSpec): ModelQueue {
    const modelId = spec.load.modelId;
    const existing = this.queues.get(modelId);
    // The lookup answers the same spec object until the model's record changes: nothing to redo.
    const previous = this.limitsFrom.get(modelId);
    if (existing && previous === spec) return existing;
    this.remember(spec);
    this.limitsFrom.set(modelId, spec);
    const limits = this.limitsOf(spec);
    let queue = this.queues.get(modelId);
    if (!queue) {
      queue = new ModelQueue({
        modelId,
        ...limits,
        agingMs: this.config.priority_aging_ms,
        clock: this.clock,
        acquire: (deadline) => {
          const spec = this.specs.get(modelId)!;
          return this.residency.leaseIfLoaded(spec) ?? this.residency.acquire(spec, deadline);
        },
        onDepth: (depth) => notify(this.observer, 'queueDepth', modelId, depth),
        onBatch: (batch) => notify(this.observer, 'batchRun', { modelId, ...batch }),
      });
      this.queues.set(modelId, queue);
    } else if (previous && !sameLimits(this.limitsOf(previous), limits)) {
      queue.setLimits(limits);
    }
    return queue;
  }
}

function sameLimits(a: BatchLimits, b: BatchLimits): boolean {
  return a.maxBatchSize === b.maxBatchSize && a.maxDelayMs === b.maxDelayMs && a.maxQueueSize === b.maxQueueSize;
}

function notLoaded(modelId: string): never {
  throw new ModelMoraError('MODEL_NOT_LOADED', `Model ${modelId} is not loaded`);
}
