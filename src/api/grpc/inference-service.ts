import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { jobAccessOf, jobOwnerOf } from '../../auth/principal.js';
import { ModelMoraError } from '../../domain/errors.js';
import type { InferOptions } from '../../domain/engine.js';
import type { InferenceResult } from '../../domain/inference.js';
import { ModelRef } from '../../domain/model-ref.js';
import { DOCUMENT_FIELDS, type InferenceInput, type InputFields } from '../../services/inference-input.js';
import type { InferenceCall } from '../../services/inference-service.js';
import { unary, type CallContext, type UnaryOptions } from './call.js';
import { checkDecoded, checkMessageSize, MIB } from './message-size.js';
import { inferStream } from './inference-stream.js';
import { toInferenceResponse, toJobStatus, type InferenceRequestMessage } from './messages.js';
import type { GrpcDeps } from './server.js';
import { enumName, fromStruct, priorityOf, toTimestamp } from './wire.js';
import { isUuid } from '../../domain/uuid.js';

/** modelmora.v1.InferenceService: Infer, InferStream, InferAsync and the job RPCs. */
export function inferenceService(deps: GrpcDeps, options: UnaryOptions, openStreams: Set<() => void>): UntypedServiceImplementation {
  const now = deps.now ?? (() => new Date());
  const { inference } = deps.services;
  return {
    Infer: unary(options, async (request: InferenceRequestMessage, ctx) => {
      const result = await runInference(deps, request, ctx);
      return toInferenceResponse(result, now());
    }),
    InferStream: inferStream(deps, options, openStreams),
    InferAsync: unary(options, async (request: InferenceRequestMessage, ctx) => {
      // The job outlives this call, so the call's deadline does not bound it; timeout_seconds does.
      checkDecoded(request);
      const job = await inference.submit(ModelRef.parse(request.model_id), inferenceCall(deps, request, ctx.traceId), jobOwnerOf(ctx.principal));
      return { job_id: job.job_id, status: enumName('JOB_STATUS', job.status), created_at: toTimestamp(job.created_at) };
    }),
    // An inference caller reaches only the jobs it submitted; others' answer JOB_NOT_FOUND.
    GetJobStatus: unary(options, async (request: { job_id: string }, ctx) => toJobStatus(await inference.jobs.get(jobIdOf(request.job_id), jobAccessOf(ctx.principal)))),
    GetJobResult: unary(options, async (request: { job_id: string }, ctx) =>
      toInferenceResponse(await inference.jobs.result(jobIdOf(request.job_id), jobAccessOf(ctx.principal)), now()),
    ),
    CancelJob: unary(options, async (request: { job_id: string }, ctx) => {
      const job = await inference.jobs.cancel(jobIdOf(request.job_id), jobAccessOf(ctx.principal));
      return { job_id: job.job_id, status: enumName('JOB_STATUS', job.status) };
    }),
  };
}


/** Job ids are uuids, as REST's /jobs/{job_id} requires. */
function jobIdOf(value: string): string {
  if (!isUuid(value)) {
    throw new ModelMoraError('VALIDATION_ERROR', 'Request validation failed', {
      fieldErrors: [{ field: 'job_id', message: value === '' ? 'is required' : 'must be a uuid' }],
    });
  }
  return value;
}

/**
 * One inference as Infer and every InferStream message run it: the message as the services'
 * neutral input, bounded by the call's deadline and aborted if the call is cancelled.
 */
export async function runInference(deps: GrpcDeps, message: InferenceRequestMessage, ctx: CallContext, onProgress?: InferOptions['onProgress']): Promise<InferenceResult> {
  checkDecoded(message);
  return deps.services.inference.infer(ModelRef.parse(message.model_id), {
    ...inferenceCall(deps, message, ctx.traceId),
    signal: ctx.signal,
    deadline: ctx.deadline,
    ...(onProgress && { onProgress }),
  });
}

/** The message as the services' neutral input: the oneof's text or image, a list for the batch forms, named as the proto names them. */
function inferenceCall(deps: GrpcDeps, message: InferenceRequestMessage, traceId: string): InferenceCall {
  const input = message.input_data;
  let data: InferenceInput['data'];
  let fields = DOCUMENT_FIELDS;
  switch (input?.data) {
    case 'text':
      data = { text: input.text };
      break;
    case 'text_batch':
      data = { text: input.text_batch?.texts ?? [] };
      fields = TEXT_BATCH_FIELDS;
      break;
    case 'image':
      data = { image: input.image };
      break;
    case 'image_batch':
      data = { image: input.image_batch?.images ?? [] };
      fields = IMAGE_BATCH_FIELDS;
      break;
    default:
      data = input ? {} : undefined;
  }
  const { grpc_max_message_mb: text, grpc_image_max_message_mb: image } = deps.config;
  return {
    input: () => ({
      data,
      parameters: fromStruct(message.parameters, 'parameters', deps.config.max_json_depth),
      priority: priorityOf(message.priority),
      // proto3 cannot tell 0 from unset: 0 means "the default", as for priority.
      timeoutSeconds: message.timeout_seconds !== 0 ? message.timeout_seconds : undefined,
    }),
    fields,
    requestId: message.request_id || traceId,
    // Image models take image-sized messages; the transport's cap is the larger of the two.
    admit: (target) => checkMessageSize(message, MIB * (target.takesImages ? Math.max(image, text) : text)),
  };
}

/** The proto's names of the batch forms' lists, in errors (`input_data.text_batch.texts[2]`). */
const TEXT_BATCH_FIELDS: InputFields = { ...DOCUMENT_FIELDS, text: 'input_data.text_batch.texts' };
const IMAGE_BATCH_FIELDS: InputFields = { ...DOCUMENT_FIELDS, image: 'input_data.image_batch.images' };
