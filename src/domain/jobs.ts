import type { ErrorCode } from './errors.js';
import type { InferenceRequest, InferenceResult } from './inference.js';
import type { Priority } from './task-type.js';

/** Job states of the API document (§2.4.2 JobStatus). */
export const JOB_STATES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A job as the API shows it (JobStatusResponse, §2.5.1). */
export interface JobView {
  job_id: string;
  model_id: string;
  status: JobState;
  /** 0..100 */
  progress: number;
  priority: Priority;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  error?: { error_code: ErrorCode; message: string };
}

export interface JobFilter extends JobAccess {
  status?: JobState;
  model_id?: string;
  /** At most this many, newest first. */
  limit?: number;
}

/**
 * Whose jobs a caller may see and cancel. With `owner`, only jobs submitted with that owner; any
 * other job answers JOB_NOT_FOUND, exactly as an unknown id does. Without it, every job (admin).
 */
export interface JobAccess {
  owner?: string;
}

/**
 * Async inference (REST /infer/{id}/async and /jobs, gRPC InferAsync, GetJobStatus, GetJobResult, CancelJob).
 * Jobs run through the same Engine (and priority queue) as sync requests. Accepted jobs are
 * durable: `submit` resolves only once the job is on disk.
 *
 * Reads are async: the job store may live outside this process (several daemons serving one
 * queue), so a job submitted here may be finished by another daemon.
 */
export interface JobService {
  /** Persists the job as queued (durable when this resolves), then runs it. `owner` names the submitter. */
  submit(request: InferenceRequest, options?: { owner?: string | undefined }): Promise<JobView>;
  /** JOB_NOT_FOUND when unknown, pruned by retention, or not the caller's (`access`). */
  get(jobId: string, access?: JobAccess): Promise<JobView>;
  /** JOB_NOT_READY (details.status) until completed, JOB_CANCELLED once cancelled; a failed job throws its own error. */
  result(jobId: string, access?: JobAccess): Promise<InferenceResult>;
  /** A queued job never runs; a processing one is aborted where the task allows; finished -> JOB_ALREADY_FINISHED. */
  cancel(jobId: string, access?: JobAccess): Promise<JobView>;
  list(filter?: JobFilter): Promise<JobView[]>;
}
