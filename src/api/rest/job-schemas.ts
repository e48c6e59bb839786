import { JOB_STATES } from '../../domain/jobs.js';
import { PRIORITIES } from '../../domain/task-type.js';

/** REST schemas of async inference and jobs (API document §2.4.2, §2.5), registered with the shared ones. */

export const JobStatus = {
  $id: 'JobStatus',
  type: 'string',
  enum: [...JOB_STATES],
} as const;

export const JobReference = {
  $id: 'JobReference',
  type: 'object',
  properties: {
    job_id: { type: 'string', format: 'uuid', example: '123e4567-e89b-12d3-a456-426614174000' },
    status: { $ref: 'JobStatus#' },
    created_at: { type: 'string', format: 'date-time' },
    status_url: { type: 'string', format: 'uri-reference', example: '/api/v1/jobs/123e4567-e89b-12d3-a456-426614174000' },
  },
} as const;

export const JobStatusResponse = {
  $id: 'JobStatusResponse',
  type: 'object',
  properties: {
    job_id: { type: 'string', format: 'uuid' },
    model_id: { type: 'string' },
    status: { $ref: 'JobStatus#' },
    progress: { type: 'number', minimum: 0, maximum: 100, description: 'Progress percentage (if available)' },
    priority: { type: 'string', enum: [...PRIORITIES], description: 'Addition: the priority the job was submitted with' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time', description: 'When it last went to the model queue' },
    completed_at: { type: 'string', format: 'date-time' },
    error: { $ref: 'Error#' },
  },
} as const;

export const JobList = {
  $id: 'JobList',
  type: 'object',
  description: 'Addition (for `modelmora jobs ls`): jobs newest first',
  properties: { data: { type: 'array', items: { $ref: 'JobStatusResponse#' } } },
} as const;

export const JobNotReady = {
  $id: 'JobNotReady',
  type: 'object',
  properties: {
    error_code: { type: 'string', example: 'JOB_NOT_READY' },
    message: { type: 'string' },
    status: { $ref: 'JobStatus#' },
    trace_id: { type: 'string', format: 'uuid' },
  },
} as const;

export const CancelJobResponse = {
  $id: 'CancelJobResponse',
  type: 'object',
  properties: {
    job_id: { type: 'string' },
    status: { type: 'string', example: 'cancelled' },
  },
} as const;

export const JobIdParams = {
  type: 'object',
  required: ['job_id'],
  properties: { job_id: { type: 'string', format: 'uuid' } },
} as const;

export const ListJobsQuery = {
  type: 'object',
  properties: {
    status: { $ref: 'JobStatus#' },
    model_id: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

export const JOB_SCHEMAS = [JobStatus, JobReference, JobStatusResponse, JobList, JobNotReady, CancelJobResponse] as const;
