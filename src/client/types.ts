import type { ModelStatus, QueueDepth } from '../domain/engine.js';
import type { InferenceMetadata } from '../domain/inference.js';
import type { JobState, JobView } from '../domain/jobs.js';
import type { Priority, TaskType } from '../domain/task-type.js';

/**
 * The REST API's request and answer shapes (API document §2), as a client sees them. Type-only
 * imports (domain, registry) keep this file free of runtime code, so the package entry stays light.
 */

export type { JobState, ModelStatus, Priority, QueueDepth, TaskType };

// The registry's shapes are the wire's shapes: one declaration, re-exported as types only.
export type {
  ListQuery as ListModelsQuery,
  ModelResponse,
  ModelState,
  PaginationMeta,
  RegisterInput as RegisterModelRequest,
  ResourceRequirements,
  UpdateInput as UpdateModelRequest,
} from '../store/registry.js';
import type { ModelResponse, PaginationMeta } from '../store/registry.js';

export interface ModelList {
  data: ModelResponse[];
  meta: PaginationMeta;
}

export interface DownloadResponse {
  model_id: string;
  status: 'downloading';
  message: string;
}

/** §2.3.7 LockFile. */
export interface LockFile {
  version: string;
  generated_at: string;
  models: Array<{ model_id: string; version: string; source_url?: string; checksum: string; task_type: TaskType }>;
  /** Models the daemon could not pin, each with its error (not in the document). */
  unresolved: Array<{ model_id: string; error_code: string; message: string }>;
}

/**
 * What to infer on, in the client's words: one text, a list of texts, one image or a list of
 * images (base64 or a data URL). Exactly one of them.
 */
export type InferInput = { text: string } | { texts: string[] } | { image: string } | { images: string[] };

export interface InferOptions {
  parameters?: Record<string, unknown>;
  priority?: Priority;
  /** 1..600; the daemon's default (60) when absent. The HTTP wait is stretched to cover it. */
  timeout_seconds?: number;
  signal?: AbortSignal;
}

/** §2.4.1 InferenceRequest as sent on the wire. */
export interface InferenceRequestBody {
  input_data: { text?: string | string[]; image?: string | string[] };
  parameters?: Record<string, unknown>;
  priority?: Priority;
  timeout_seconds?: number;
}

/** §2.4.1 OutputData: the field present depends on the task and on a single vs a list input. */
export interface OutputData {
  embedding?: number[];
  embeddings?: number[][];
  text?: string;
  texts?: string[];
  image_base64?: string;
  images_base64?: string[];
  image_url?: string;
}

export interface InferenceResponse {
  model_id: string;
  output_data: OutputData;
  metadata: InferenceMetadata;
}

/** §2.4.2 JobReference. */
export interface JobReference {
  job_id: string;
  status: JobState;
  created_at: string;
  status_url: string;
}

/** §2.5.1 JobStatusResponse. */
export type JobStatusResponse = JobView;

export interface CancelJobResponse {
  job_id: string;
  status: JobState;
}

export interface ListJobsQuery {
  status?: JobState;
  model_id?: string;
  limit?: number;
}

/** GET /jobs: an addition to the document, newest first. */
export interface JobList {
  data: JobStatusResponse[];
}

/** §2.6.3 GET /status: the body the daemon builds (a type-only import, like the registry's). */
export type { SystemStatusBody as SystemStatus } from '../services/status-service.js';

export interface Liveness {
  status: string;
}

export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: { database: boolean; queue: boolean };
}

export interface ModelHealth {
  healthy_count: number;
  unhealthy_count: number;
  models: Array<{ model_id: string; healthy: boolean; last_check_at: string; error?: string }>;
}
