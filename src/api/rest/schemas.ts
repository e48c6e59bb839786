import { PRIORITIES, TASK_TYPES } from '../../domain/task-type.js';
import { MODEL_STATES } from '../../store/registry.js';

/**
 * Every REST schema, declared once as JSON Schema. Fastify validates requests with them and
 * @fastify/swagger turns them into the OpenAPI document, so the docs cannot drift from what is
 * enforced. Shapes follow the API document (§2); additions are marked in their description.
 * Shared schemas carry an `$id` and become OpenAPI components of that name.
 */

/**
 * Length limits of the registry's text fields, named once: the REST schemas below declare them
 * and the gRPC RegistryService checks the same numbers, so both skins refuse the same lengths.
 */
export const MODEL_FIELD_LIMITS = {
  model_id: 200,
  version: 200,
  display_name: 200,
  description: 2000,
  source_url: 2000,
} as const;

export const TaskType = {
  $id: 'TaskType',
  type: 'string',
  enum: [...TASK_TYPES],
  description: 'txt2embed: text to embedding; img2embed: image to embedding; txt2img: text to image; img2txt: image to text; txt2txt: text to text',
} as const;

export const ResourceRequirements = {
  $id: 'ResourceRequirements',
  type: 'object',
  properties: {
    memory_mb: { type: 'integer', minimum: 0, description: 'Estimated RAM requirement' },
    gpu_vram_mb: { type: 'integer', minimum: 0, description: 'Estimated VRAM requirement' },
    cpu_threads: { type: 'integer', minimum: 0, description: 'Recommended CPU threads' },
  },
} as const;

/** One entry of validation_errors: the offending field and what is wrong with it. */
const FieldErrorItem = { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } as const;

export const ErrorResponse = {
  $id: 'Error',
  type: 'object',
  required: ['error_code', 'message'],
  properties: {
    error_code: { type: 'string', example: 'MODEL_NOT_FOUND' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    trace_id: { type: 'string', format: 'uuid', description: 'Also sent as the x-trace-id header' },
    validation_errors: {
      type: 'array',
      description: 'Present when error_code is VALIDATION_ERROR: one entry per offending field',
      items: FieldErrorItem,
    },
  },
} as const;

/** The document's ValidationError: every 400 answer (validation_errors is empty when no one field is to blame). */
export const ValidationErrorResponse = {
  $id: 'ValidationError',
  type: 'object',
  required: ['error_code', 'message', 'validation_errors'],
  properties: {
    error_code: { type: 'string', example: 'VALIDATION_ERROR' },
    message: { type: 'string', example: 'Request validation failed' },
    details: { type: 'object', additionalProperties: true },
    trace_id: { type: 'string', format: 'uuid' },
    validation_errors: {
      type: 'array',
      items: FieldErrorItem,
    },
  },
} as const;

export const PaginationMeta = {
  $id: 'PaginationMeta',
  type: 'object',
  properties: {
    total: { type: 'integer' },
    page: { type: 'integer' },
    page_size: { type: 'integer' },
    total_pages: { type: 'integer' },
  },
} as const;

export const RegisterModelRequest = {
  $id: 'RegisterModelRequest',
  type: 'object',
  required: ['model_id', 'task_type'],
  properties: {
    model_id: { type: 'string', maxLength: MODEL_FIELD_LIMITS.model_id, description: 'Hugging Face model id (org/name)', example: 'sentence-transformers/all-MiniLM-L6-v2' },
    version: { type: 'string', minLength: 1, maxLength: MODEL_FIELD_LIMITS.version, default: 'main', description: 'Revision: branch, tag or commit' },
    task_type: { $ref: 'TaskType#' },
    display_name: { type: 'string', maxLength: MODEL_FIELD_LIMITS.display_name },
    description: { type: 'string', maxLength: MODEL_FIELD_LIMITS.description },
    source_url: { type: 'string', format: 'uri', maxLength: MODEL_FIELD_LIMITS.source_url, description: 'Custom download URL (https only)' },
    resource_requirements: { $ref: 'ResourceRequirements#' },
    config: { type: 'object', additionalProperties: true, description: 'Model-specific configuration' },
  },
} as const;

export const UpdateModelRequest = {
  $id: 'UpdateModelRequest',
  type: 'object',
  properties: {
    display_name: { type: 'string', maxLength: MODEL_FIELD_LIMITS.display_name },
    description: { type: 'string', maxLength: MODEL_FIELD_LIMITS.description },
    config: { type: 'object', additionalProperties: true },
    resource_requirements: { $ref: 'ResourceRequirements#' },
  },
} as const;

export const ModelResponse = {
  $id: 'ModelResponse',
  type: 'object',
  properties: {
    model_id: { type: 'string' },
    version: { type: 'string' },
    task_type: { $ref: 'TaskType#' },
    display_name: { type: 'string' },
    description: { type: 'string' },
    status: { type: 'string', enum: [...MODEL_STATES] },
    resource_requirements: { $ref: 'ResourceRequirements#' },
    config: { type: 'object', additionalProperties: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    error: { type: 'string', description: 'Addition: why the last download failed (status failed only)' },
  },
} as const;

export const ModelList = {
  $id: 'ModelList',
  type: 'object',
  properties: {
    data: { type: 'array', items: { $ref: 'ModelResponse#' } },
    meta: { $ref: 'PaginationMeta#' },
  },
} as const;

export const ListModelsQuery = {
  type: 'object',
  properties: {
    task_type: { $ref: 'TaskType#' },
    status: { type: 'string', enum: [...MODEL_STATES] },
    page: { type: 'integer', minimum: 1, default: 1 },
    page_size: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
} as const;

export const DeleteModelQuery = {
  type: 'object',
  properties: {
    force: { type: 'boolean', default: false, description: 'Unload the model first if it is loaded' },
  },
} as const;

export const ModelIdParams = {
  type: 'object',
  required: ['model_id'],
  properties: {
    model_id: {
      type: 'string',
      description: 'URL-encoded model id (org%2Fname); the raw org/name form is accepted too',
      example: 'sentence-transformers%2Fall-MiniLM-L6-v2',
    },
  },
} as const;

/** Same routes with the raw `org/name` id: two path segments. Hidden from OpenAPI. */
export const RawModelIdParams = {
  type: 'object',
  required: ['org', 'name'],
  properties: { org: { type: 'string' }, name: { type: 'string' } },
} as const;

export const DownloadResponse = {
  $id: 'DownloadResponse',
  type: 'object',
  properties: {
    model_id: { type: 'string' },
    status: { type: 'string', enum: ['downloading'] },
    message: { type: 'string', example: 'Download started in background' },
  },
} as const;

export const LockFile = {
  $id: 'LockFile',
  type: 'object',
  properties: {
    version: { type: 'string', example: '1.0' },
    generated_at: { type: 'string', format: 'date-time' },
    models: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          model_id: { type: 'string' },
          version: { type: 'string' },
          source_url: { type: 'string' },
          checksum: { type: 'string' },
          task_type: { $ref: 'TaskType#' },
        },
      },
    },
    unresolved: {
      type: 'array',
      description: 'Not in the API document: models that could not be pinned, each with its error; the others are still in `models`.',
      items: {
        type: 'object',
        required: ['model_id', 'error_code', 'message'],
        properties: { model_id: { type: 'string' }, error_code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

/** The document's InputData (§2.4.1): task-specific input, text for txt2*, image for img2*. */
export const InputData = {
  $id: 'InputData',
  type: 'object',
  description: 'Task-specific input: text for txt2*, image for img2*',
  properties: {
    text: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: 'Sample text input' },
    image: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      description: 'Base64-encoded image or a data:image/...;base64, URL (remote URLs are not fetched)',
    },
  },
  additionalProperties: true,
} as const;

/** The document's OutputData (§2.4.1). */
export const OutputData = {
  $id: 'OutputData',
  type: 'object',
  description:
    'embedding (one text/image) or embeddings (a list); text or texts; image_base64 or images_base64 (PNG), or image_url / image_urls ' +
    '(GET them; used when a PNG is larger than inline_image_max_kb)',
  properties: {
    embedding: { type: 'array', items: { type: 'number' } },
    embeddings: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
    text: { type: 'string' },
    texts: { type: 'array', items: { type: 'string' } },
    image_base64: { type: 'string' },
    images_base64: { type: 'array', items: { type: 'string' } },
    image_url: { type: 'string', format: 'uri' },
    image_urls: { type: 'array', items: { type: 'string', format: 'uri' } },
  },
} as const;

export const InferenceRequest = {
  $id: 'InferenceRequest',
  type: 'object',
  required: ['input_data'],
  properties: {
    input_data: { $ref: 'InputData#' },
    parameters: { type: 'object', additionalProperties: true, description: 'Task-specific inference parameters' },
    priority: { type: 'string', enum: [...PRIORITIES], default: 'medium' },
    timeout_seconds: { type: 'integer', minimum: 1, maximum: 600, default: 60 },
    stream: {
      type: 'boolean',
      default: false,
      description:
        'Answer as Server-Sent Events (text/event-stream): `event: token` with data {"token": "..."} (plus "index" for a list) per generated piece, then `event: done` with the InferenceResponse, or `event: error` with the Error body. Closing the connection cancels generation.',
    },
  },
} as const;

export const InferenceResponse = {
  $id: 'InferenceResponse',
  type: 'object',
  properties: {
    model_id: { type: 'string' },
    output_data: { $ref: 'OutputData#' },
    metadata: {
      type: 'object',
      properties: {
        inference_time_ms: { type: 'number' },
        total_time_ms: { type: 'number' },
        queue_time_ms: { type: 'number' },
        batch_size: { type: 'integer' },
        device: { type: 'string', enum: ['cpu', 'cuda'] },
      },
    },
  },
} as const;

export const ModelStatusResponse = {
  $id: 'ModelStatusResponse',
  type: 'object',
  properties: {
    model_id: { type: 'string' },
    state: { type: 'string', enum: ['unloaded', 'loading', 'loaded', 'unhealthy'] },
    memory_usage_mb: { type: 'number' },
    device: { type: 'string', enum: ['cpu', 'cuda'] },
    loaded_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time', description: 'Addition: when keep_alive unloads it if idle' },
    pinned: { type: 'boolean' },
    in_flight: { type: 'integer' },
    pid: { type: 'integer', description: 'Addition: pid of the runner process holding the model' },
    health_status: {
      type: 'object',
      properties: {
        healthy: { type: 'boolean' },
        last_check_at: { type: 'string', format: 'date-time' },
        error_message: { type: 'string' },
      },
    },
  },
} as const;

export const QueueDepth = {
  type: 'object',
  properties: {
    high_priority: { type: 'integer' },
    medium_priority: { type: 'integer' },
    low_priority: { type: 'integer' },
  },
} as const;

export const SystemStatus = {
  $id: 'SystemStatus',
  type: 'object',
  properties: {
    version: { type: 'string' },
    uptime_seconds: { type: 'integer' },
    memory: {
      type: 'object',
      description: 'total_mb: machine RAM; used_mb: loaded models; threshold_mb: memory budget; available_mb: what a new model may still use',
      properties: {
        total_mb: { type: 'number' },
        used_mb: { type: 'number' },
        available_mb: { type: 'number' },
        threshold_mb: { type: 'number' },
      },
    },
    gpu: {
      type: 'object',
      properties: {
        available: { type: 'boolean' },
        devices: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              device_id: { type: 'integer' },
              name: { type: 'string' },
              memory_total_mb: { type: 'number' },
              memory_used_mb: { type: 'number' },
            },
          },
        },
      },
    },
    loaded_models: { type: 'array', items: { $ref: 'ModelStatusResponse#' } },
    queue_depth: QueueDepth,
  },
} as const;

export const Liveness = {
  type: 'object',
  properties: { status: { type: 'string', example: 'ok' } },
} as const;

export const Readiness = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: { type: 'object', properties: { database: { type: 'boolean' }, queue: { type: 'boolean' } } },
  },
} as const;

export const ModelHealth = {
  type: 'object',
  properties: {
    healthy_count: { type: 'integer' },
    unhealthy_count: { type: 'integer' },
    models: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          model_id: { type: 'string' },
          healthy: { type: 'boolean' },
          last_check_at: { type: 'string', format: 'date-time' },
          error: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Shared schemas, registered with app.addSchema() before any route. */
export const SHARED_SCHEMAS = [
  TaskType,
  ResourceRequirements,
  ErrorResponse,
  ValidationErrorResponse,
  PaginationMeta,
  RegisterModelRequest,
  UpdateModelRequest,
  ModelResponse,
  ModelList,
  DownloadResponse,
  LockFile,
  InputData,
  OutputData,
  InferenceRequest,
  InferenceResponse,
  ModelStatusResponse,
  SystemStatus,
] as const;

/** Error answers for a route's OpenAPI entry: status -> Error schema with a description. */
export function errorResponses(statuses: Record<number, string>): Record<number, { description: string; $ref: string }> {
  const out: Record<number, { description: string; $ref: string }> = {};
  for (const [status, description] of Object.entries(statuses)) out[Number(status)] = { description, $ref: Number(status) === 400 ? 'ValidationError#' : 'Error#' };
  return out;
}
