import type { ModelStatus } from '../../domain/engine.js';
import type { ModelMoraError } from '../../domain/errors.js';
import type { InferenceResult, ItemOutput } from '../../domain/inference.js';
import type { JobView } from '../../domain/jobs.js';
import type { ModelResponse } from '../../store/registry.js';
import type { UnloadedStatus } from '../../services/model-service.js';
import { enumName, taskTypeName, toStruct, toTimestamp, type ProtoStruct, type ProtoTimestamp } from './wire.js';

/**
 * modelmora.v1 messages as plain objects (field names as in the .proto, enums as their names)
 * and the mapping from the services' shapes onto them. Only what the skin reads or writes.
 */

export interface InferenceRequestMessage {
  model_id: string;
  input_data: {
    data?: 'text' | 'text_batch' | 'image' | 'image_batch';
    text?: string;
    text_batch?: { texts?: string[] } | null;
    image?: Uint8Array;
    image_batch?: { images?: Uint8Array[] } | null;
    custom_data?: ProtoStruct | null;
  } | null;
  parameters: ProtoStruct | null;
  priority: string | number;
  timeout_seconds: number;
  request_id: string;
}

export interface ErrorMessage {
  code: string;
  message: string;
  details: Record<string, string>;
  trace_id: string;
}

/**
 * output_data.embedding(.values) and embedding_batch hold Float32Arrays and image_data the PNG's
 * Uint8Array: only the InferenceService's own serializer (withFastResponses) writes them.
 */
export interface InferenceResponseMessage {
  model_id: string;
  output_data: Record<string, unknown> | null;
  metadata: {
    inference_time_ms: number;
    total_time_ms: number;
    batch_size: number;
    device: string;
    timestamp: ProtoTimestamp | null;
  } | null;
  error: ErrorMessage | null;
}

export interface ModelStatusMessage {
  model_id: string;
  state: string;
  memory_usage_mb: number;
  device: string;
  loaded_at: ProtoTimestamp | null;
  last_used_at: ProtoTimestamp | null;
  health_status: { healthy: boolean; last_check_at: ProtoTimestamp | null; error_message: string } | null;
}

/**
 * OutputData has one oneof slot per single output and `embedding_batch` for lists of
 * embeddings. Lists of texts or images have no slot in the document's proto, so they travel in
 * `custom_data` as `texts` and `images_base64`, named as REST names them. `request_id` is echoed
 * in custom_data so a stream's answers can be told apart.
 */
export function toInferenceResponse(result: InferenceResult, now: Date, requestId?: string): InferenceResponseMessage {
  const of = <K extends ItemOutput['kind']>(kind: K) => result.outputs.filter((o): o is Extract<ItemOutput, { kind: K }> => o.kind === kind);
  const output: Record<string, unknown> = {};
  const custom: Record<string, unknown> = {};
  // The runner's Float32Array goes as is: the fast serializer writes its bytes (response-codec.ts).
  const embeddings = of('embedding').map((o) => ({ values: o.embedding }));
  const texts = of('text').map((o) => o.text);
  const images = of('image').map((o) => o.png);
  if (embeddings.length > 0) {
    if (result.batched) output['embedding_batch'] = { embeddings };
    else output['embedding'] = embeddings[0];
  }
  if (texts.length > 0) {
    if (result.batched) custom['texts'] = texts;
    else output['text'] = texts[0];
  }
  if (images.length > 0) {
    if (result.batched) custom['images_base64'] = images.map((png) => Buffer.from(png).toString('base64'));
    else output['image_data'] = images[0];
  }
  if (requestId) custom['request_id'] = requestId;
  if (Object.keys(custom).length > 0) output['custom_data'] = toStruct(custom);
  const m = result.metadata;
  return {
    model_id: result.modelId,
    output_data: output,
    metadata: {
      inference_time_ms: m.inference_time_ms,
      total_time_ms: m.total_time_ms,
      batch_size: m.batch_size,
      device: m.device,
      timestamp: toTimestamp(now),
    },
    error: null,
  };
}

/**
 * A partial InferenceResponse carrying one generated piece on InferStream: output_data.text is
 * the piece, custom_data {"stream": "token"} (plus index for a batch, request_id if given); the
 * final response follows it.
 */
export function toTokenResponse(modelId: string, token: string, index: number | undefined, requestId?: string): InferenceResponseMessage {
  const custom: Record<string, unknown> = { stream: 'token' };
  if (index !== undefined) custom['index'] = index;
  if (requestId) custom['request_id'] = requestId;
  return { model_id: modelId, output_data: { text: token, custom_data: toStruct(custom) }, metadata: null, error: null };
}

/** The document's Error message: details flattened to strings, one entry per offending field. */
export function toErrorMessage(err: ModelMoraError, traceId: string, requestId?: string): ErrorMessage {
  const details: Record<string, string> = {};
  for (const [key, value] of Object.entries(err.details ?? {})) {
    details[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  for (const { field, message } of (err.fieldErrors ?? []).slice(0, 50)) details[field] = message;
  if (requestId) details['request_id'] = requestId;
  return { code: err.code, message: err.message, details, trace_id: traceId };
}

export function toModelStatus(status: ModelStatus | UnloadedStatus): ModelStatusMessage {
  const health = 'health_status' in status ? status.health_status : undefined;
  return {
    model_id: status.model_id,
    state: enumName('MODEL_STATE', status.state),
    memory_usage_mb: status.memory_usage_mb,
    device: 'device' in status ? status.device : '',
    loaded_at: toTimestamp('loaded_at' in status ? status.loaded_at : undefined),
    last_used_at: toTimestamp('last_used_at' in status ? status.last_used_at : undefined),
    health_status: health
      ? { healthy: health.healthy, last_check_at: toTimestamp(health.last_check_at), error_message: health.error_message ?? '' }
      : null,
  };
}

export function toModelMessage(model: ModelResponse): Record<string, unknown> {
  return {
    model_id: model.model_id,
    version: model.version,
    task_type: taskTypeName(model.task_type),
    display_name: model.display_name ?? '',
    description: model.description ?? '',
    status: model.status,
    resource_requirements: {
      memory_mb: model.resource_requirements.memory_mb ?? 0,
      gpu_vram_mb: model.resource_requirements.gpu_vram_mb ?? 0,
      cpu_threads: model.resource_requirements.cpu_threads ?? 0,
    },
    config: toStruct(model.config),
    created_at: toTimestamp(model.created_at),
    updated_at: toTimestamp(model.updated_at),
  };
}

export function toJobStatus(job: JobView): Record<string, unknown> {
  return {
    job_id: job.job_id,
    model_id: job.model_id,
    status: enumName('JOB_STATUS', job.status),
    progress: job.progress,
    created_at: toTimestamp(job.created_at),
    started_at: toTimestamp(job.started_at),
    completed_at: toTimestamp(job.completed_at),
    error: job.error ? { code: job.error.error_code, message: job.error.message, details: {}, trace_id: '' } : null,
  };
}
