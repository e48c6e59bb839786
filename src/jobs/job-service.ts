import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type Timer } from '../domain/clock.js';
import type { Engine, InferenceProgress } from '../domain/engine.js';
import { ModelMoraError, toModelMoraError } from '../domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../domain/inference.js';
import type { JobAccess, JobFilter, JobService, JobView } from '../domain/jobs.js';
import { PriorityQueue, type QueueEntry } from '../queue/priority-queue.js';
import { isFinished, type JobPatch, type JobRecord, type JobStore, type JobSummary } from './job-store.js';

/**
 * Async jobs over the Engine. A job is persisted as `queued` before submit() resolves, waits
 * here (per model, in priority order) until the model has a free job slot, then goes through
 * engine.infer — the same priority queue and batcher as sync requests.
 *
 * States, precisely:
 *   queued      accepted and durable; waiting in this service (never handed to the engine yet,
 *               or handed back after RATE_LIMIT_EXCEEDED / a model being unloaded).
 *   processing  handed to the engine: waiting in the model's queue or running on its runner
 *               (progress events, when the task sends them, move `progress`).
 *   completed | failed | cancelled  final; kept until retention prunes them.
 * Cancel: a queued job leaves the wait list and never runs; a processing job is aborted (the
 * engine drops it from its queue, or stops the run where the task allows; a result that still
 * arrives is discarded).
 *
 * Restart: start() takes every queued or processing job from the store and runs it again. A job
 * that was processing when the daemon died runs again (at-least-once execution); a job stored as
 * completed never runs again (exactly-once completion).
 *
 * Deadlines: a job's timeout_seconds counts from when it is handed to the engine, not from
 * submit — waiting for a job slot is what async jobs are for.
 */

export interface JobServiceOptions {
  engine: Pick<Engine, 'infer'>;
  store: JobStore;
  /** How long finished jobs are kept, in ms (-1: forever). */
  retentionMs: number;
  clock?: Clock;
  newId?: () => string;
  /** Jobs per model handed to the engine at once; the rest wait here. Default 64. */
  concurrencyPerModel?: number;
  /** Wait before retrying a job the engine turned away (queue full, model unloading). Default 250 ms. */
  retryDelayMs?: number;
  /** How often retention runs; default a quarter of the retention, between 1 s and 10 min. */
  pruneIntervalMs?: number;
  /** Store failures and other things only a log should hear about. */
  onWarning?: (message: string, err?: unknown) => void;
}

interface ActiveJob {
  record: JobRecord;
  /** While waiting here. */
  entry: QueueEntry<ActiveJob> | undefined;
  /** While handed to the engine. */
  controller: AbortController | undefined;
  retryTimer: Timer | undefined;
  itemProgress: number[];
  /**
   * The final state being written. Readers see it only once it is durable (a client that saw
   * `completed` never sees the job run again after a crash); meanwhile it blocks a second ending.
   */
  final: JobPatch | undefined;
  /** Store writes of this job, in order. */
  writes: Promise<unknown>;
}

const DEFAULT_CONCURRENCY = 64;
const MAX_RETRY_DELAY_MS = 5000;

export class DurableJobService implements JobService {
  private readonly engine: Pick<Engine, 'infer'>;
  private readonly store: JobStore;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly concurrency: number;
  private readonly retryDelayMs: number;
  private readonly retentionMs: number;
  private readonly pruneIntervalMs: number;
  private readonly warn: (message: string, err?: unknown) => void;
  /** Unfinished jobs this daemon owns, plus finished ones until their final write is durable. */
  private readonly active = new Map<string, ActiveJob>();
  private readonly waiting = new Map<string, PriorityQueue<ActiveJob>>();
  private readonly running = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;
  private pruneTimer: Timer | undefined;
  private pruning: Promise<unknown> = Promise.resolve();

  constructor(options: JobServiceOptions) {
    this.engine = options.engine;
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? randomUUID;
    this.concurrency = Math.max(1, options.concurrencyPerModel ?? DEFAULT_CONCURRENCY);
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.retentionMs = options.retentionMs;
    this.pruneIntervalMs = options.pruneIntervalMs ?? Math.min(600_000, Math.max(1000, Math.round(options.retentionMs / 4)));
    this.warn = options.onWarning ?? (() => undefined);
  }

  /** Prunes expired jobs, then runs again every job the store holds as queued or processing. */
  async start(): Promise<{ resumed: number; pruned: number }> {
    const pruned = await this.prune();
    const unfinished = await this.store.unfinished();
    for (const record of unfinished) {
      if (this.active.has(record.id)) continue;
      const job = this.track({ ...record, status: 'queued', progress: 0 });
      this.enqueue(job);
    }
    for (const modelId of this.waiting.keys()) this.pump(modelId);
    this.schedulePrune();
    return { resumed: unfinished.length, pruned };
  }

  async submit(request: InferenceRequest, options: { owner?: string | undefined } = {}): Promise<JobView> {
    this.refuseIfDraining();
    const record: JobRecord = {
      id: this.newId(),
      modelId: request.modelId,
      priority: request.priority,
      status: 'queued',
      progress: 0,
      createdAt: this.clock.now(),
      attempts: 0,
      ...(options.owner !== undefined && { owner: options.owner }),
      request,
    };
    await this.store.put(record);
    const accepted = toJobView(record);
    const job = this.track(record);
    this.enqueue(job);
    this.pump(record.modelId);
    return accepted;
  }

  async get(jobId: string, access: JobAccess = {}): Promise<JobView> {
    return toJobView(await this.find(jobId, access));
  }

  async result(jobId: string, access: JobAccess = {}): Promise<InferenceResult> {
    const record = await this.find(jobId, access, true);
    if (record.status === 'completed' && record.result) return record.result;
    if (record.status === 'cancelled') {
      throw new ModelMoraError('JOB_CANCELLED', `Job ${jobId} was cancelled`, { details: { job_id: jobId, status: record.status } });
    }
    if (record.status === 'failed') {
      const error = record.error ?? { error_code: 'INFERENCE_FAILED' as const, message: 'Job failed' };
      throw new ModelMoraError(error.error_code, error.message, { details: { ...error.details, job_id: jobId, status: record.status } });
    }
    throw new ModelMoraError('JOB_NOT_READY', `Job ${jobId} is ${record.status}`, { details: { job_id: jobId, status: record.status } });
  }

  async cancel(jobId: string, access: JobAccess = {}): Promise<JobView> {
    const job = this.active.get(jobId);
    if (job && !visible(job.record, access)) throw notFound(jobId);
    const now = this.clock.now();
    const patch: JobPatch = { status: 'cancelled', completedAt: now, error: { error_code: 'CANCELLED', message: 'Job was cancelled' } };
    if (!job) {
      // Not run by this daemon: finished, unknown, or (shared store) another daemon's.
      const record = await this.find(jobId, access);
      if (isFinished(record.status)) throw alreadyFinished(jobId, record.status);
      const updated = await this.store.update(jobId, patch);
      if (!updated) throw notFound(jobId);
      return toJobView(updated);
    }
    if (job.final?.status) throw alreadyFinished(jobId, job.final.status);
    this.unqueue(job);
    job.controller?.abort();
    await this.finish(job, patch, true);
    return toJobView(job.record);
  }

  async list(filter: JobFilter = {}): Promise<JobView[]> {
    const limit = filter.limit ?? 100;
    const stored = await this.store.list({ ...(filter.model_id !== undefined && { modelId: filter.model_id }) });
    const byId = new Map<string, JobSummary>(stored.map((job) => [job.id, job]));
    for (const job of this.active.values()) {
      if (filter.model_id === undefined || job.record.modelId === filter.model_id) byId.set(job.record.id, job.record);
    }
    return [...byId.values()]
      .filter((job) => (filter.status === undefined || job.status === filter.status) && visible(job, filter))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map(toJobView);
  }

  /** Deletes finished jobs older than the retention; returns how many. */
  async prune(): Promise<number> {
    if (this.retentionMs < 0) return 0;
    const expired = await this.store.list({ finishedBefore: this.clock.now() - this.retentionMs });
    const ids = expired.map((job) => job.id).filter((id) => !this.active.has(id));
    if (ids.length > 0) await this.store.delete(ids);
    return ids.length;
  }

  /**
   * Stops handing jobs to the engine and waits for the engine calls in flight to settle (the
   * engine's own drain bounds that) and for their writes. Jobs still waiting stay queued in the
   * store for the next start.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.pruneTimer?.cancel();
    for (const job of this.active.values()) {
      job.retryTimer?.cancel();
      job.retryTimer = undefined;
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.active.values()].map((job) => job.writes));
  }

  /** Resolves once every store write issued so far (and any it leads to) is durable. */
  async flushed(): Promise<void> {
    await this.pruning;
    const seen = new Set<Promise<unknown>>();
    for (;;) {
      const pending = [...this.active.values()].map((job) => job.writes).filter((write) => !seen.has(write));
      if (pending.length === 0) return;
      for (const write of pending) seen.add(write);
      await Promise.all(pending);
      // Let the callbacks of those writes run: they may issue the next ones (a job's final state).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Jobs waiting here and jobs handed to the engine, for status and tests. */
  counts(): { waiting: number; running: number } {
    let waiting = 0;
    let running = 0;
    for (const queue of this.waiting.values()) waiting += queue.size;
    for (const n of this.running.values()) running += n;
    return { waiting, running };
  }

  private track(record: JobRecord): ActiveJob {
    const job: ActiveJob = {
      record,
      entry: undefined,
      controller: undefined,
      retryTimer: undefined,
      itemProgress: [],
      final: undefined,
      writes: Promise.resolve(),
    };
    this.active.set(record.id, job);
    return job;
  }

  private enqueue(job: ActiveJob): void {
    const modelId = job.record.modelId;
    let queue = this.waiting.get(modelId);
    if (!queue) this.waiting.set(modelId, (queue = new PriorityQueue<ActiveJob>()));
    job.entry = queue.enqueue(job, job.record.request.priority, this.clock.now());
  }

  private unqueue(job: ActiveJob): void {
    job.retryTimer?.cancel();
    job.retryTimer = undefined;
    if (job.entry) this.waiting.get(job.record.modelId)?.remove(job.entry);
    job.entry = undefined;
  }

  /** Hands waiting jobs of a model to the engine while it has free job slots. */
  private pump(modelId: string): void {
    const queue = this.waiting.get(modelId);
    while (!this.draining && queue && queue.size > 0 && (this.running.get(modelId) ?? 0) < this.concurrency) {
      const job = queue.dequeue(this.clock.now())!;
      job.entry = undefined;
      this.launch(job);
    }
  }

  private launch(job: ActiveJob): void {
    const { record } = job;
    const modelId = record.modelId;
    this.running.set(modelId, (this.running.get(modelId) ?? 0) + 1);
    const controller = new AbortController();
    job.controller = controller;
    job.itemProgress = record.request.items.map(() => 0);
    const patch: JobPatch = { status: 'processing', progress: 0, startedAt: this.clock.now(), attempts: record.attempts + 1 };
    Object.assign(record, patch);
    void this.persist(job, patch);
    const call = this.engine
      .infer(record.request, { signal: controller.signal, onProgress: (event) => this.progressed(job, event) })
      .then(
        (result) => this.succeeded(job, controller, result),
        (err: unknown) => this.failed(job, controller, toModelMoraError(err)),
      )
      .finally(() => {
        this.inFlight.delete(call);
        this.running.set(modelId, (this.running.get(modelId) ?? 1) - 1);
        if (job.controller === controller) job.controller = undefined;
        this.pump(modelId);
      });
    this.inFlight.add(call);
  }

  private progressed(job: ActiveJob, event: InferenceProgress): void {
    if (job.record.status !== 'processing') return;
    let value = event.progress;
    if (value === undefined && event.step !== undefined && event.totalSteps) value = (100 * event.step) / event.totalSteps;
    if (value === undefined || !Number.isFinite(value) || event.itemIndex < 0 || event.itemIndex >= job.itemProgress.length) return;
    job.itemProgress[event.itemIndex] = Math.min(100, Math.max(0, value));
    const mean = job.itemProgress.reduce((a, b) => a + b, 0) / job.itemProgress.length;
    // 100 is kept for completion; progress is live state, not persisted (a restart reruns the job).
    job.record.progress = Math.max(job.record.progress, Math.min(99, Math.floor(mean)));
  }

  private async succeeded(job: ActiveJob, controller: AbortController, result: InferenceResult): Promise<void> {
    if (job.final || controller.signal.aborted) return; // cancelled meanwhile
    await this.finish(job, { status: 'completed', progress: 100, completedAt: this.clock.now(), result });
  }

  private async failed(job: ActiveJob, controller: AbortController, error: ModelMoraError): Promise<void> {
    if (job.final || controller.signal.aborted) return;
    if (this.draining) return; // left unfinished in the store: the next start runs it again
    if (error.code === 'RATE_LIMIT_EXCEEDED' || error.code === 'SERVICE_UNAVAILABLE') {
      // Turned away, not failed: back to the wait list after a short pause.
      job.record.status = 'queued';
      job.record.progress = 0;
      const hinted = Number(error.details?.['retry_after_seconds']) * 1000;
      const delay = Math.min(MAX_RETRY_DELAY_MS, Number.isFinite(hinted) && hinted > 0 ? hinted : this.retryDelayMs);
      job.retryTimer = this.clock.setTimer(() => {
        job.retryTimer = undefined;
        if (job.record.status !== 'queued' || this.draining) return;
        this.enqueue(job);
        this.pump(job.record.modelId);
      }, delay, { unref: true });
      return;
    }
    await this.finish(job, {
      status: 'failed',
      completedAt: this.clock.now(),
      error: { error_code: error.code, message: error.message, ...(error.details && { details: error.details }) },
    });
  }

  /**
   * Persists a final state, then shows it and lets the job leave memory (the store serves it).
   * A failed write is reported by persist(); the job then stays unfinished on disk and runs again
   * after a restart. `rethrow` passes the failure on (cancel answers it).
   */
  private async finish(job: ActiveJob, patch: JobPatch, rethrow = false): Promise<void> {
    job.final = patch;
    try {
      await this.persist(job, patch);
      Object.assign(job.record, patch);
    } catch (err) {
      if (rethrow) throw err;
    } finally {
      if (this.active.get(job.record.id) === job) this.active.delete(job.record.id);
    }
  }

  /** Writes a patch after the job's earlier writes; a failed write is reported, not thrown at the engine. */
  private persist(job: ActiveJob, patch: JobPatch): Promise<void> {
    const write = job.writes.then(() => this.store.update(job.record.id, patch));
    job.writes = write.catch((err: unknown) => this.warn(`job ${job.record.id}: store write failed`, err));
    return write.then(() => undefined);
  }

  /** The job's current record: live state when this daemon runs it, else the store's. */
  private async find(jobId: string, access: JobAccess, withResult = false): Promise<JobRecord> {
    const job = this.active.get(jobId);
    if (job) {
      if (!visible(job.record, access)) throw notFound(jobId);
      return job.record;
    }
    const record = await this.store.get(jobId);
    if (!record || !visible(record, access)) throw notFound(jobId);
    return withResult ? record : { ...record, result: undefined };
  }

  private schedulePrune(): void {
    if (this.retentionMs < 0 || this.draining) return;
    this.pruneTimer = this.clock.setTimer(
      () => {
        this.pruning = this.prune()
          .catch((err: unknown) => this.warn('job retention failed', err))
          .finally(() => this.schedulePrune());
      },
      this.pruneIntervalMs,
      { unref: true },
    );
  }

  private refuseIfDraining(): void {
    if (this.draining) throw new ModelMoraError('SERVICE_UNAVAILABLE', 'Server is shutting down');
  }
}

/** Another caller's job is answered exactly as an unknown one. */
function visible(job: Pick<JobRecord, 'owner'>, access: JobAccess): boolean {
  return access.owner === undefined || job.owner === access.owner;
}

function notFound(jobId: string): ModelMoraError {
  return new ModelMoraError('JOB_NOT_FOUND', `Job ${jobId} not found`, { details: { job_id: jobId } });
}

function alreadyFinished(jobId: string, status: string): ModelMoraError {
  return new ModelMoraError('JOB_ALREADY_FINISHED', `Job ${jobId} is already ${status}`, { details: { job_id: jobId, status } });
}

/** A stored job as the API shows it (JobStatusResponse): ISO times, progress 100 once completed. */
export function toJobView(record: JobSummary): JobView {
  const view: JobView = {
    job_id: record.id,
    model_id: record.modelId,
    status: record.status,
    progress: record.status === 'completed' ? 100 : record.progress,
    priority: record.priority,
    created_at: new Date(record.createdAt).toISOString(),
  };
  if (record.startedAt !== undefined) view.started_at = new Date(record.startedAt).toISOString();
  if (record.completedAt !== undefined && isFinished(record.status)) view.completed_at = new Date(record.completedAt).toISOString();
  if (record.error !== undefined && record.status !== 'completed') view.error = { error_code: record.error.error_code, message: record.error.message };
  return view;
}
