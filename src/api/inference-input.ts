import { ModelMoraError, validationError, type FieldError } from '../domain/errors.js';
import type { InferenceItem, InferenceRequest } from '../domain/inference.js';
import { PRIORITIES, isPriority, type TaskType } from '../domain/task-type.js';

/**
 * Turns an inference body as the API document writes it (§2.4.1 InferenceRequest) into the
 * domain InferenceRequest. REST and gRPC both call this, so both reject the same inputs with the
 * same field names. Every check here is cheap and runs before any work is queued.
 */

export interface InputLimits {
  max_inputs: number;
  max_text_chars: number;
  default_timeout_seconds: number;
}

/** The body before validation: what JSON.parse (or a gRPC message mapped to JSON) produced. */
export interface InferenceBody {
  input_data?: { text?: unknown; image?: unknown; [key: string]: unknown };
  parameters?: unknown;
  priority?: unknown;
  timeout_seconds?: unknown;
}

const IMAGE_TASKS: readonly TaskType[] = ['img2embed', 'img2txt'];
const MAX_TIMEOUT_SECONDS = 600;

export function toInferenceRequest(
  modelId: string,
  body: unknown,
  limits: InputLimits,
  options: { taskType?: TaskType; requestId?: string } = {},
): InferenceRequest {
  const errors: FieldError[] = [];
  if (!isPlainObject(body)) throw validationError([{ field: 'body', message: 'must be a JSON object' }]);
  const input = body.input_data;
  let items: InferenceItem[] = [];
  let batched = false;

  if (input === undefined) errors.push({ field: 'input_data', message: 'is required' });
  else if (!isPlainObject(input)) errors.push({ field: 'input_data', message: 'must be an object' });
  else if (input.text !== undefined && input.image !== undefined) {
    errors.push({ field: 'input_data', message: 'send either text or image, not both' });
  } else if (input.text !== undefined) {
    ({ items, batched } = readList(input.text, 'input_data.text', limits, errors, (value, field) => readText(value, field, limits, errors)));
  } else if (input.image !== undefined) {
    ({ items, batched } = readList(input.image, 'input_data.image', limits, errors, (value, field) => readImage(value, field, errors)));
  } else {
    errors.push({ field: 'input_data', message: 'needs text or image' });
  }

  let parameters: Record<string, unknown> = {};
  if (body.parameters !== undefined) {
    if (isPlainObject(body.parameters)) parameters = body.parameters;
    else errors.push({ field: 'parameters', message: 'must be an object' });
  }

  let priority: InferenceRequest['priority'] = 'medium';
  if (body.priority !== undefined) {
    if (isPriority(body.priority)) priority = body.priority;
    else errors.push({ field: 'priority', message: `must be one of ${PRIORITIES.join(', ')}` });
  }

  let timeoutSeconds = limits.default_timeout_seconds;
  if (body.timeout_seconds !== undefined) {
    const t = body.timeout_seconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_TIMEOUT_SECONDS) {
      errors.push({ field: 'timeout_seconds', message: `must be a whole number from 1 to ${MAX_TIMEOUT_SECONDS}` });
    } else timeoutSeconds = t;
  }

  if (errors.length > 0) throw validationError(errors);

  if (options.taskType !== undefined) {
    const wantsImage = IMAGE_TASKS.includes(options.taskType);
    const hasImage = items[0]?.kind === 'image';
    if (wantsImage !== hasImage) {
      throw new ModelMoraError(
        'INVALID_INPUT',
        `Model '${modelId}' (${options.taskType}) takes input_data.${wantsImage ? 'image' : 'text'}`,
        { details: { task_type: options.taskType } },
      );
    }
  }

  const request: InferenceRequest = { modelId, items, batched, parameters, priority, timeoutSeconds };
  if (options.requestId !== undefined) request.requestId = options.requestId;
  return request;
}

/** A single value or a non-empty list of them; more than max_inputs is BATCH_SIZE_EXCEEDED (413). */
function readList(
  value: unknown,
  field: string,
  limits: InputLimits,
  errors: FieldError[],
  readOne: (value: unknown, field: string) => InferenceItem | undefined,
): { items: InferenceItem[]; batched: boolean } {
  if (!Array.isArray(value)) {
    const item = readOne(value, field);
    return { items: item ? [item] : [], batched: false };
  }
  if (value.length === 0) {
    errors.push({ field, message: 'must not be an empty list' });
    return { items: [], batched: true };
  }
  if (value.length > limits.max_inputs) {
    throw new ModelMoraError('BATCH_SIZE_EXCEEDED', `${field} has ${value.length} items; at most ${limits.max_inputs} are allowed`, {
      details: { max_inputs: limits.max_inputs, received: value.length },
    });
  }
  const items: InferenceItem[] = [];
  value.forEach((entry, i) => {
    const item = readOne(entry, `${field}[${i}]`);
    if (item) items.push(item);
  });
  return { items, batched: true };
}

function readText(value: unknown, field: string, limits: InputLimits, errors: FieldError[]): InferenceItem | undefined {
  if (typeof value !== 'string') {
    errors.push({ field, message: 'must be a string or a list of strings' });
    return undefined;
  }
  if (value.length === 0) {
    errors.push({ field, message: 'must not be empty' });
    return undefined;
  }
  if (value.length > limits.max_text_chars) {
    errors.push({ field, message: `is ${value.length} characters; at most ${limits.max_text_chars} are allowed` });
    return undefined;
  }
  return { kind: 'text', text: value };
}

const DATA_URL = /^data:image\/[a-z0-9.+-]+;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Base64 or a `data:image/...;base64,` URL (JSON), or raw bytes (gRPC `bytes`). Remote URLs are
 * not fetched (no SSRF from here).
 */
function readImage(value: unknown, field: string, errors: FieldError[]): InferenceItem | undefined {
  if (value instanceof Uint8Array) {
    if (value.length === 0) {
      errors.push({ field, message: 'must not be empty' });
      return undefined;
    }
    return { kind: 'image', image: value };
  }
  if (typeof value !== 'string') {
    errors.push({ field, message: 'must be a base64 string or a list of them' });
    return undefined;
  }
  if (/^https?:\/\//i.test(value)) {
    errors.push({ field, message: 'image URLs are not fetched; send the image as base64' });
    return undefined;
  }
  const data = value.replace(DATA_URL, '');
  if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
    errors.push({ field, message: 'must be base64 (optionally a data:image/...;base64, URL)' });
    return undefined;
  }
  return { kind: 'image', image: new Uint8Array(Buffer.from(data, 'base64')) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
