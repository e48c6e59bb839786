import { performance } from 'node:perf_hooks';
import type { CancelSignal } from '../domain/cancellation.js';
import type { Engine, InferOptions } from '../domain/engine.js';
import { ModelMoraError } from '../domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../domain/inference.js';
import type { JobService, JobView } from '../domain/jobs.js';
import type { ModelRef } from '../domain/model-ref.js';
import { takesImages, type TaskType } from '../domain/task-type.js';
import { requestStatusOf, type RequestStatus } from '../metrics/metrics.js';
import type { Registry } from '../store/registry.js';
import { readInferenceRequest, type InferenceInput, type InputFields, type InputLimits } from './inference-input.js';

/**
 * Every inference, whatever the skin (REST, gRPC, the dialects) and whatever its form (sync,
 * streamed, async job): it finds the model once, validates the skin's neutral input, bounds the
 * deadline, runs it on the engine, and times, counts and logs it. This is the one place a request
 * metric is recorded, so no skin can forget one.
 */

/**
 * The series unknown-model requests count under: a fixed name, so ids nobody registered cannot
 * grow the label set, and one no model can have (ids start with a letter or digit).
 */
export const UNKNOWN_MODEL_LABEL = '(unknown)';

/** A registered model a request is for, read once per request. */
export interface ModelTarget {
  readonly ref: ModelRef;
  readonly taskType: TaskType;
  readonly config: Record<string, unknown>;
  /** Its input is an image: image-sized bodies and messages. */
  readonly takesImages: boolean;
}

/** One inference as a skin hands it over. */
export interface InferenceCall {
  /** Or a function that reads it, when reading can fail: its errors then count as this model's invalid requests. */
  input: InferenceInput | (() => InferenceInput);
  /** How the skin names the input's fields in errors; default the API document's. */
  fields?: Readonly<InputFields>;
  requestId?: string;
  /** Aborted when the caller goes away: a queued request is dropped, a running one cancelled. */
  signal?: CancelSignal;
  /** The caller's own deadline (epoch ms) where its transport has one (gRPC); the engine answers before it. */
  deadline?: number;
  onProgress?: InferOptions['onProgress'];
  /** A skin's own check of the request against the model (its message size limit), counted like validation. */
  admit?: (target: ModelTarget) => void;
}

/** A request that passed validation, waiting to run. */
export interface PreparedInference {
  readonly request: InferenceRequest;
  /** performance.now() when it arrived: its duration counts from there. */
  readonly started: number;
}

/** Where request lines go; the daemon passes its pino logger. */
export interface RequestLog {
  debug(fields: Record<string, unknown>, message: string): void;
}

export interface InferenceServiceDeps {
  registry: Pick<Registry, 'view'>;
  engine: Pick<Engine, 'infer'>;
  metrics: { requestDone(modelId: string, status: RequestStatus, seconds: number): void };
  limits: InputLimits;
  /**
   * Async jobs; absent: submit answers SERVICE_UNAVAILABLE. A function gets the engine as jobs
   * must use it (every run counted here), for a job service built over it.
   */
  jobs?: JobService | ((engine: Pick<Engine, 'infer'>) => JobService) | undefined;
  log?: RequestLog | undefined;
  /** Epoch ms; default Date.now (deadlines). */
  now?: () => number;
}

export class InferenceService {
  private readonly jobService: JobService | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: InferenceServiceDeps) {
    this.now = deps.now ?? Date.now;
    const jobs = deps.jobs;
    this.jobService = typeof jobs === 'function' ? jobs({ infer: (request, options) => this.engineRun(request, options ?? {}) }) : jobs;
  }

  /** The async job service (status, result, cancel, list); SERVICE_UNAVAILABLE when jobs are off. */
  get jobs(): JobService {
    if (!this.jobService) throw new ModelMoraError('SERVICE_UNAVAILABLE', 'Async jobs are not enabled on this server');
    return this.jobService;
  }

  get jobsEnabled(): boolean {
    return this.jobService !== undefined;
  }

  /** The model a request is for; MODEL_NOT_FOUND (counted, under UNKNOWN_MODEL_LABEL) when unknown. */
  target(ref: ModelRef): ModelTarget {
    try {
      const record = this.deps.registry.view(ref.id);
      return { ref, taskType: record.task_type, config: record.config, takesImages: takesImages(record.task_type) };
    } catch (err) {
      this.record(UNKNOWN_MODEL_LABEL, requestStatusOf(err), 0, undefined);
      throw err;
    }
  }

  /** Validates, queues, batches and runs one request; the result once it has run. */
  async infer(model: ModelRef | ModelTarget, call: InferenceCall): Promise<InferenceResult> {
    return this.run(await this.prepare(model, call), call);
  }

  /**
   * The first half of infer, for skins that answer differently once the input is known good (a
   * stream opens only then): validates, and counts a request refused here.
   */
  async prepare(model: ModelRef | ModelTarget, call: InferenceCall): Promise<PreparedInference> {
    const target = this.targetOf(model);
    const started = performance.now();
    try {
      return { request: await this.validate(target, call), started };
    } catch (err) {
      this.record(target.ref.id, requestStatusOf(err), 0, call.requestId);
      throw err;
    }
  }

  /** The second half of infer: queues, batches and runs a prepared request, timed from its prepare. */
  run(prepared: PreparedInference, options: Pick<InferenceCall, 'signal' | 'onProgress'> = {}): Promise<InferenceResult> {
    return this.engineRun(prepared.request, { ...(options.signal && { signal: options.signal }), ...(options.onProgress && { onProgress: options.onProgress }) }, prepared.started);
  }

  /**
   * Validates the request and stores it as a job (durable once this resolves). The job's run is
   * counted when it ends, like a sync request; a request refused here is counted now.
   */
  async submit(model: ModelRef | ModelTarget, call: InferenceCall, owner?: string): Promise<JobView> {
    const jobs = this.jobs;
    const { request } = await this.prepare(model, call);
    return jobs.submit(request, { owner });
  }

  private targetOf(model: ModelRef | ModelTarget): ModelTarget {
    return 'taskType' in model ? model : this.target(model);
  }

  private async validate(target: ModelTarget, call: InferenceCall): Promise<InferenceRequest> {
    call.admit?.(target);
    const input = typeof call.input === 'function' ? call.input() : call.input;
    const request = await readInferenceRequest(target.ref.id, input, this.deps.limits, {
      taskType: target.taskType,
      modelConfig: target.config,
      ...(call.requestId !== undefined && { requestId: call.requestId }),
      ...(call.fields && { fields: call.fields }),
    });
    if (call.deadline !== undefined) request.timeoutSeconds = boundedTimeout(request.timeoutSeconds, call.deadline, this.now());
    return request;
  }

  /** One engine run, timed and counted: sync requests and every job's run come through here. */
  private async engineRun(request: InferenceRequest, options: InferOptions, started = performance.now()): Promise<InferenceResult> {
    try {
      const result = await this.deps.engine.infer(request, options);
      this.record(request.modelId, 'success', (performance.now() - started) / 1000, request.requestId);
      return result;
    } catch (err) {
      const status = options.signal?.aborted ? 'cancelled' : requestStatusOf(err);
      this.record(request.modelId, status, (performance.now() - started) / 1000, request.requestId);
      throw err;
    }
  }

  private record(modelId: string, status: RequestStatus, seconds: number, requestId: string | undefined): void {
    this.deps.metrics.requestDone(modelId, status, seconds);
    this.deps.log?.debug({ model_id: modelId, status, duration_ms: Math.round(seconds * 1000), ...(requestId !== undefined && { request_id: requestId }) }, 'inference request');
  }
}

/**
 * The engine's timeout: timeout_seconds, or less when the caller's deadline comes first. An
 * expired deadline never runs. The engine answers a little before the caller's deadline (a
 * fifth of the time left, at most 250 ms) so the caller receives INFERENCE_TIMEOUT with its
 * error_code instead of a bare client-side DEADLINE_EXCEEDED.
 */
export function boundedTimeout(timeoutSeconds: number, deadline: number, nowMs: number): number {
  if (!Number.isFinite(deadline)) return timeoutSeconds;
  const left = deadline - nowMs;
  const usable = left - Math.min(250, left / 5);
  if (usable <= 0) throw new ModelMoraError('INFERENCE_TIMEOUT', 'The call deadline passed before the request could run');
  return Math.min(timeoutSeconds, usable / 1000);
}
