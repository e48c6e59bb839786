import type { FastifyPluginAsync } from 'fastify';
import { jobAccessOf, jobOwnerOf } from '../../auth/principal.js';
import { ModelMoraError } from '../../domain/errors.js';
import type { JobState, JobView } from '../../domain/jobs.js';
import { principalOf } from './access.js';
import { API_PREFIX, type RouteDeps } from './app.js';
import { inferenceBodyOptions, inferenceCall, inferenceTarget } from './infer.js';
import { toInferenceResponse } from './inference-response.js';
import { placeImages } from './artifacts.js';
import { JobIdParams, ListJobsQuery } from './job-schemas.js';
import { modelRoute } from './model-path.js';
import { errorResponses } from './schemas.js';

/**
 * Async inference and jobs (API document §2.4.2, §2.5): POST /infer/{model_id}/async, GET and
 * DELETE /jobs/{job_id}, GET /jobs/{job_id}/result, and GET /jobs (an addition, for the CLI).
 * Everything is a JobService call; the durable queue lives there.
 */
/** Result errors that are a state of the job: answered as the document's 409 body, `status` at the top level. */
const JOB_STATE_CODES: ReadonlySet<string> = new Set(['JOB_NOT_READY', 'JOB_CANCELLED']);

export const jobsPlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  const { inference } = deps.services;
  const jobs = inference.jobs;

  modelRoute(app, {
    method: 'POST',
    base: '/infer',
    suffix: '/async',
    access: 'inference',
    schema: {
      tags: ['Inference'],
      operationId: 'inferAsync',
      summary: 'Execute asynchronous inference',
      description:
        'Validates the input and stores it as a job, on disk before the answer is sent, then returns at once with the job id. ' +
        'Jobs go through the same priority queue as synchronous requests; poll `status_url`, then fetch `/jobs/{job_id}/result`. ' +
        'Accepted jobs survive a restart of the server.',
      body: { $ref: 'InferenceRequest#' },
      response: {
        202: { description: 'Request accepted (also in the Location header)', $ref: 'JobReference#' },
        ...errorResponses({
          400: 'VALIDATION_ERROR, INVALID_INPUT or INVALID_MODEL_ID',
          404: 'MODEL_NOT_FOUND',
          413: 'BATCH_SIZE_EXCEEDED or PAYLOAD_TOO_LARGE',
          503: 'SERVICE_UNAVAILABLE: shutting down',
        }),
      },
    },
    options: inferenceBodyOptions(deps),
    handler: async (request, reply, ref) => {
      const job = await inference.submit(inferenceTarget(request, inference, ref), inferenceCall(request), jobOwnerOf(principalOf(request)));
      const statusUrl = `${API_PREFIX}/jobs/${job.job_id}`;
      return reply.code(202).header('location', statusUrl).send({ job_id: job.job_id, status: job.status, created_at: job.created_at, status_url: statusUrl });
    },
  });

  app.get<{ Querystring: { status?: JobState; model_id?: string; limit?: number } }>(
    '/jobs',
    {
      config: { access: 'inference' },
      schema: {
        tags: ['Jobs'],
        operationId: 'listJobs',
        summary: 'List jobs',
        description: 'Addition: jobs newest first, optionally by status and model, up to `limit`. Finished jobs are listed until their retention ends.',
        querystring: ListJobsQuery,
        response: { 200: { description: 'Jobs', $ref: 'JobList#' }, ...errorResponses({ 400: 'VALIDATION_ERROR' }) },
      },
    },
    async (request) => {
      const { status, model_id, limit } = request.query;
      const filter = { ...jobAccessOf(principalOf(request)), ...(status && { status }), ...(model_id && { model_id }), ...(limit && { limit }) };
      return { data: await jobs.list(filter) };
    },
  );

  app.get<{ Params: { job_id: string } }>(
    '/jobs/:job_id',
    {
      config: { access: 'inference' },
      schema: {
        tags: ['Jobs'],
        operationId: 'getJobStatus',
        summary: 'Get job status',
        params: JobIdParams,
        response: { 200: { description: 'Job status', $ref: 'JobStatusResponse#' }, ...errorResponses({ 400: 'VALIDATION_ERROR: not a uuid', 404: 'JOB_NOT_FOUND' }) },
      },
    },
    async (request) => jobs.get(normalId(request.params.job_id), jobAccessOf(principalOf(request))),
  );

  app.get<{ Params: { job_id: string } }>(
    '/jobs/:job_id/result',
    {
      config: { access: 'inference' },
      schema: {
        tags: ['Jobs'],
        operationId: 'getJobResult',
        summary: 'Retrieve job result',
        description:
          'The same InferenceResponse the synchronous route answers. 409 JOB_NOT_READY (with `status`) while queued or processing; ' +
          'the same 409 body with JOB_CANCELLED and `status: cancelled` for a cancelled job; a failed job answers its error.',
        params: JobIdParams,
        response: {
          200: { description: 'Job result', $ref: 'InferenceResponse#' },
          409: { description: 'Job not completed yet (JOB_NOT_READY), or cancelled (JOB_CANCELLED)', $ref: 'JobNotReady#' },
          ...errorResponses({ 400: 'VALIDATION_ERROR: not a uuid', 404: 'JOB_NOT_FOUND', 500: 'The error the job failed with' }),
        },
      },
    },
    async (request, reply) => {
      try {
        const result = await jobs.result(normalId(request.params.job_id), jobAccessOf(principalOf(request)));
        // Placed as the sync answer's are: a large PNG is answered as its image_url (artifacts are named by content, so asking again stores nothing new).
        return toInferenceResponse(result, await placeImages(result.outputs, deps.artifacts, request));
      } catch (err) {
        if (!(err instanceof ModelMoraError) || !JOB_STATE_CODES.has(err.code)) throw err;
        // The document's shape: status at the top level (details keeps it for generic clients).
        return reply
          .code(409)
          .type('application/json; charset=utf-8')
          .send({ error_code: err.code, message: err.message, status: err.details?.['status'], details: err.details, trace_id: request.id });
      }
    },
  );

  app.delete<{ Params: { job_id: string } }>(
    '/jobs/:job_id',
    {
      config: { access: 'inference' },
      schema: {
        tags: ['Jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel job',
        description: 'A queued job never runs; a processing one is stopped where the task allows (its result, if it still comes, is dropped).',
        params: JobIdParams,
        response: {
          200: { description: 'Job cancelled', $ref: 'CancelJobResponse#' },
          ...errorResponses({ 400: 'VALIDATION_ERROR: not a uuid', 404: 'JOB_NOT_FOUND', 409: 'JOB_ALREADY_FINISHED: completed, failed or cancelled before' }),
        },
      },
    },
    async (request) => {
      const job: JobView = await jobs.cancel(normalId(request.params.job_id), jobAccessOf(principalOf(request)));
      return { job_id: job.job_id, status: job.status };
    },
  );
};

/** Ids are issued lower-case; accept the same uuid in capitals. */
function normalId(id: string): string {
  return id.toLowerCase();
}
