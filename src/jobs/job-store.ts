import type { ErrorCode } from '../domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../domain/inference.js';
import type { JobState } from '../domain/jobs.js';
import type { Priority } from '../domain/task-type.js';

/**
 * Where jobs live. The embedded implementation (LogJobStore, a journal under <home>/jobs) is the
 * default; a shared engine (Redis) can implement the same interface so several daemons serve one
 * queue. The interface says nothing about files: every write is durable once its promise
 * resolves, every read may be remote.
 */

/** States after which a job never changes again. */
export const FINISHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

export function isFinished(state: JobState): boolean {
  return FINISHED_STATES.includes(state);
}

export interface JobError {
  error_code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** A job as stored. Times are epoch milliseconds. */
export interface JobRecord {
  id: string;
  modelId: string;
  priority: Priority;
  status: JobState;
  /** 0..100 */
  progress: number;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  /** Times the job was handed to the engine (more than 1 after a crash or a retry). */
  attempts: number;
  /** Who submitted it (a principal id, never a token); absent when auth was off. */
  owner?: string;
  request: InferenceRequest;
  error?: JobError;
  /** Present once completed; kept until retention prunes the job. */
  result?: InferenceResult;
}

/** A job without its request and result: what listings return. */
export type JobSummary = Omit<JobRecord, 'request' | 'result'>;

/** What an update may change; `id`, `modelId`, `priority`, `createdAt`, `owner` and the request never change. */
export type JobPatch = Partial<Pick<JobRecord, 'status' | 'progress' | 'startedAt' | 'completedAt' | 'attempts' | 'error' | 'result'>>;

export interface JobStoreFilter {
  status?: JobState;
  modelId?: string;
  /** Only finished jobs whose completedAt is before this time (retention). */
  finishedBefore?: number;
  /** At most this many, newest (createdAt) first. */
  limit?: number;
}

export interface JobStore {
  /** Adds a new job; durable when resolved. */
  put(job: JobRecord): Promise<void>;
  /** Applies a patch; durable when resolved. Undefined when the job is unknown (pruned). */
  update(id: string, patch: JobPatch): Promise<JobRecord | undefined>;
  get(id: string): Promise<JobRecord | undefined>;
  list(filter?: JobStoreFilter): Promise<JobSummary[]>;
  /** Removes jobs (retention); durable when resolved. Unknown ids are ignored. */
  delete(ids: readonly string[]): Promise<void>;
  /** Queued and processing jobs, oldest first: what a starting daemon must run again. */
  unfinished(): Promise<JobRecord[]>;
  /** Flushes pending writes and releases the store. */
  close(): Promise<void>;
}

/** Sorts newest first and applies a filter; shared by implementations that filter in memory. */
export function filterJobs<T extends JobSummary>(jobs: Iterable<T>, filter: JobStoreFilter = {}): T[] {
  const out: T[] = [];
  for (const job of jobs) {
    if (filter.status !== undefined && job.status !== filter.status) continue;
    if (filter.modelId !== undefined && job.modelId !== filter.modelId) continue;
    if (filter.finishedBefore !== undefined && !(isFinished(job.status) && (job.completedAt ?? job.createdAt) < filter.finishedBefore)) continue;
    out.push(job);
  }
  out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  return filter.limit === undefined ? out : out.slice(0, filter.limit);
}

export function summaryOf(job: JobRecord): JobSummary {
  const { request: _request, result: _result, ...summary } = job;
  return summary;
}

/**
 * A finished job keeps what its status and result need, not its inputs: the images of an async
 * request can be megabytes, and a finished job never runs again. Applied by the store on the
 * update that finishes a job and on replay, so neither memory nor, after the next compaction,
 * the journal holds a finished job's inputs until retention prunes it.
 */
export function dropInputsIfFinished(job: JobRecord): void {
  if (isFinished(job.status) && job.request.items.length > 0) job.request = { ...job.request, items: [] };
}
