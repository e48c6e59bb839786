import type { CancelSignal } from './cancellation.js';
import type { InferenceRequest, InferenceResult } from './inference.js';
import type { Priority } from './task-type.js';

/** The API document's ModelStatusResponse (§2.6.1), as the engine reports it. */
export interface ModelStatus {
  model_id: string;
  state: 'unloaded' | 'loading' | 'loaded' | 'unhealthy';
  memory_usage_mb: number;
  device: 'cpu' | 'cuda';
  loaded_at?: string;
  last_used_at?: string;
  /** When keep_alive will unload it if it stays idle; absent if pinned or busy. */
  expires_at?: string;
  pinned?: boolean;
  in_flight?: number;
  /** Pid of the runner process holding the model, while loaded. */
  pid?: number;
  health_status: { healthy: boolean; last_check_at: string; error_message?: string };
}

export type QueueDepth = Record<`${Priority}_priority`, number>;

/** Progress of one item of a request (`itemIndex` into request.items), for streams and jobs. */
export interface InferenceProgress {
  itemIndex: number;
  progress?: number;
  token?: string;
  step?: number;
  totalSteps?: number;
}

export interface InferOptions {
  /** Aborted when the caller goes away: a queued request is dropped, a running one cancelled where the task allows. */
  signal?: CancelSignal;
  onProgress?: (event: InferenceProgress) => void;
}

/**
 * The serving engine as REST, gRPC and jobs see it: queue + batcher + residency + runners.
 * It knows nothing of HTTP or gRPC; errors are ModelMoraError with codes from errors.ts.
 */
export interface Engine {
  /** Queues the request, batches it, runs it on the model's runner (loading it if needed). */
  infer(request: InferenceRequest, options?: InferOptions): Promise<InferenceResult>;
  load(modelId: string): Promise<ModelStatus>;
  /** Unloads now if idle, else once in-flight requests finish. MODEL_NOT_LOADED if not loaded. */
  unload(modelId: string): Promise<void>;
  /** Status of every model the engine knows (loaded, loading, unhealthy). */
  models(): ModelStatus[];
  queueDepth(): QueueDepth;
  /** Memory used by loaded models and the budget, in MB. */
  memory(): { used_mb: number; budget_mb: number };
  /** Stop taking work, finish what is queued and in flight (bounded), stop runners. */
  drain(timeoutMs: number): Promise<void>;
}
