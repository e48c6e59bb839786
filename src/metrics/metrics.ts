import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ModelMoraError } from '../domain/errors.js';
import { PRIORITIES, type Priority } from '../domain/task-type.js';

/**
 * Every ModelMora metric, declared once, on a registry of our own (never prom-client's global
 * one, so tests and several apps in one process do not collide). The first three are exactly the
 * API document's (§2.8); the rest follow Triton's and TEI's habits.
 *
 * Who reports what: InferenceService calls requestDone() (the one place for every skin); the engine (queue, batcher,
 * residency) calls queueWait(), batch(), modelLoaded(), eviction(), loadedModels(),
 * modelMemory() and queueDepth(); the hub calls downloadBytes().
 */

/** Outcome label of modelmora_requests_total; a closed set so label cardinality stays small. */
export type RequestStatus = 'success' | 'error' | 'invalid' | 'timeout' | 'rejected' | 'cancelled';

const GAUGE_TOTAL = /\b(nodejs_active_(?:handles|requests|resources))_total\b/g;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const LOAD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export class Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  private readonly requests: Counter<'model_id' | 'status'>;
  private readonly inferenceDuration: Histogram<'model_id'>;
  private readonly queueDepthGauge: Gauge<'model_id' | 'priority'>;
  private readonly queueWaitSeconds: Histogram<'model_id'>;
  private readonly batchSize: Histogram<'model_id'>;
  private readonly loadSeconds: Histogram<'model_id'>;
  private readonly evictions: Counter<'model_id'>;
  private readonly loadedModelsGauge: Gauge;
  private readonly memoryBytes: Gauge<'model_id'>;
  private readonly downloadBytesTotal: Counter<'model_id'>;
  private readonly runnerRestarts: Counter<'model_id'>;
  private readonly loadFailures: Counter<'model_id'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.contentType = this.registry.contentType;
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.requests = new Counter({
      name: 'modelmora_requests_total',
      help: 'Total inference requests',
      labelNames: ['model_id', 'status'],
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: 'modelmora_inference_duration_seconds',
      help: 'Inference duration',
      labelNames: ['model_id'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.queueDepthGauge = new Gauge({
      name: 'modelmora_queue_depth',
      help: 'Current queue depth',
      // The document's priority label, per model: sum by (priority) gives the document's series.
      labelNames: ['model_id', 'priority'],
      registers,
    });
    this.queueWaitSeconds = new Histogram({
      name: 'modelmora_queue_wait_seconds',
      help: 'Time a request waited in the queue before its batch ran',
      labelNames: ['model_id'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'modelmora_batch_size',
      help: 'Inputs per runner call',
      labelNames: ['model_id'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.loadSeconds = new Histogram({
      name: 'modelmora_model_load_seconds',
      help: 'Time to load a model into a runner',
      labelNames: ['model_id'],
      buckets: LOAD_BUCKETS,
      registers,
    });
    this.evictions = new Counter({
      name: 'modelmora_evictions_total',
      help: 'Models unloaded to make room for another',
      labelNames: ['model_id'],
      registers,
    });
    this.loadedModelsGauge = new Gauge({
      name: 'modelmora_loaded_models',
      help: 'Models currently loaded',
      registers,
    });
    this.memoryBytes = new Gauge({
      name: 'modelmora_model_memory_bytes',
      help: 'Resident memory of each loaded model runner',
      labelNames: ['model_id'],
      registers,
    });
    this.downloadBytesTotal = new Counter({
      name: 'modelmora_download_bytes_total',
      help: 'Model file bytes downloaded',
      labelNames: ['model_id'],
      registers,
    });
    this.runnerRestarts = new Counter({
      name: 'modelmora_runner_restarts_total',
      help: 'Loads that replaced a runner which died or failed',
      labelNames: ['model_id'],
      registers,
    });
    this.loadFailures = new Counter({
      name: 'modelmora_load_failures_total',
      help: 'Model loads that failed',
      labelNames: ['model_id'],
      registers,
    });
    this.loadedModelsGauge.set(0);
  }

  /** One finished inference request; its duration counts only when it succeeded. */
  requestDone(modelId: string, status: RequestStatus, seconds: number): void {
    this.requests.inc({ model_id: modelId, status });
    if (status === 'success') this.inferenceDuration.observe({ model_id: modelId }, seconds);
  }

  /** The model's waiting requests per priority, after every change (the engine's queueDepth event). */
  queueDepth(modelId: string, depth: Record<Priority, number>): void {
    for (const priority of PRIORITIES) this.queueDepthGauge.set({ model_id: modelId, priority }, depth[priority]);
  }

  queueWait(modelId: string, seconds: number): void {
    this.queueWaitSeconds.observe({ model_id: modelId }, seconds);
  }

  batch(modelId: string, size: number): void {
    this.batchSize.observe({ model_id: modelId }, size);
  }

  modelLoaded(modelId: string, seconds: number): void {
    this.loadSeconds.observe({ model_id: modelId }, seconds);
  }

  runnerRestarted(modelId: string): void {
    this.runnerRestarts.inc({ model_id: modelId });
  }

  loadFailed(modelId: string): void {
    this.loadFailures.inc({ model_id: modelId });
  }

  eviction(modelId: string): void {
    this.evictions.inc({ model_id: modelId });
  }

  loadedModels(n: number): void {
    this.loadedModelsGauge.set(n);
  }

  /** Bytes of a loaded model's runner; `null` removes the series once the model is unloaded. */
  modelMemory(modelId: string, bytes: number | null): void {
    if (bytes === null) this.memoryBytes.remove({ model_id: modelId });
    else this.memoryBytes.set({ model_id: modelId }, bytes);
  }

  /** Replaces every model's memory series at once (from a snapshot of the engine). */
  modelMemoryAll(bytesByModel: ReadonlyMap<string, number>): void {
    this.memoryBytes.reset();
    for (const [modelId, bytes] of bytesByModel) this.memoryBytes.set({ model_id: modelId }, bytes);
  }

  downloadBytes(modelId: string, bytes: number): void {
    if (bytes > 0) this.downloadBytesTotal.inc({ model_id: modelId }, bytes);
  }

  /**
   * prom-client's default `nodejs_active_*_total` are gauges, and a gauge named *_total fails
   * `promtool check metrics`; they are served as `nodejs_active_*_all` (the unsuffixed names are
   * taken by the per-type gauges).
   */
  async render(): Promise<string> {
    return (await this.registry.metrics()).replace(GAUGE_TOTAL, '$1_all');
  }
}

/** The requests_total status for an error thrown by the engine or by input validation. */
export function requestStatusOf(err: unknown): RequestStatus {
  if (!(err instanceof ModelMoraError)) return 'error';
  switch (err.code) {
    case 'INFERENCE_TIMEOUT':
      return 'timeout';
    case 'RATE_LIMIT_EXCEEDED':
      return 'rejected';
    case 'CANCELLED':
      return 'cancelled';
    case 'VALIDATION_ERROR':
    case 'INVALID_INPUT':
    case 'BATCH_SIZE_EXCEEDED':
    case 'PAYLOAD_TOO_LARGE':
      return 'invalid';
    default:
      return 'error';
  }
}
