import { ModelMoraError, validationError, type FieldError } from '../domain/errors.js';
import type { InferenceItem, InferenceRequest } from '../domain/inference.js';
import { generationLimits, parseGenerationOptions } from '../domain/generation-parameters.js';
import { readTxt2ImgParameters } from '../domain/txt2img-parameters.js';
import { PRIORITIES, isPriority, takesImages, type Priority, type TaskType } from '../domain/task-type.js';
import { checkImagesDecode, imageBytesProblem, invalidImages, parseImageString } from './image-input.js';

/**
 * Turns an inference input, as any skin read it off its wire, into the domain InferenceRequest.
 * Every skin calls this (through InferenceService), so all reject the same inputs; each names the
 * fields in its errors as its own wire does (InputFields). Every check here is cheap and runs
 * before any work is queued.
 */

export interface InputLimits {
  max_inputs: number;
  max_text_chars: number;
  default_timeout_seconds: number;
  max_image_pixels: number;
}

/**
 * The input before validation, in no wire's shape: `data` holds `text` or `image` (a value or a
 * list), as the API document's `input_data` does; every value is still unchecked.
 */
export interface InferenceInput {
  data?: unknown;
  parameters?: unknown;
  priority?: unknown;
  timeoutSeconds?: unknown;
}

/** What a skin calls each input field in its error messages (`input_data.text[2]`, `text_batch.texts[2]`...). */
export interface InputFields {
  data: string;
  text: string;
  image: string;
  parameters: string;
  priority: string;
  timeoutSeconds: string;
}

/** The API document's names (§2.4.1 InferenceRequest), as REST and most skins use them. */
export const DOCUMENT_FIELDS: Readonly<InputFields> = {
  data: 'input_data',
  text: 'input_data.text',
  image: 'input_data.image',
  parameters: 'parameters',
  priority: 'priority',
  timeoutSeconds: 'timeout_seconds',
};

/** Without a `priority`, image generation (seconds to minutes) queues behind quick requests (API document §2.4.1). */
function defaultPriority(taskType: TaskType | undefined): Priority {
  return taskType === 'txt2img' ? 'low' : 'medium';
}

const MAX_TIMEOUT_SECONDS = 600;

/** What the request is checked against beside the input limits: the model it goes to. */
export interface RequestOptions {
  taskType?: TaskType;
  /** The model's `config` (registry); its generation limits bound max_tokens. */
  modelConfig?: Record<string, unknown>;
  requestId?: string;
  /** Field names for errors; default DOCUMENT_FIELDS. */
  fields?: Readonly<InputFields>;
}

/**
 * Models that take generation parameters (max_tokens, temperature, seed, stop): txt2txt, and
 * img2txt captioners declared as such. An img2txt model without `config.family` is told apart
 * (OCR or captioner) by its files, on the runner, so its parameters are checked there.
 */
function generates(taskType: TaskType | undefined, config: Record<string, unknown> | undefined): boolean {
  return taskType === 'txt2txt' || (taskType === 'img2txt' && config?.family === 'captioning');
}

export function toInferenceRequest(
  modelId: string,
  input: InferenceInput,
  limits: InputLimits,
  options: RequestOptions = {},
): InferenceRequest {
  const f = options.fields ?? DOCUMENT_FIELDS;
  const errors: FieldError[] = [];
  // Bad image data is INVALID_INPUT rather than VALIDATION_ERROR: the input is well-formed, its image is not.
  const imageErrors: FieldError[] = [];
  const data = input.data;
  let items: InferenceItem[] = [];
  let batched = false;
  let inputKind: InferenceItem['kind'] | undefined;

  if (data === undefined) errors.push({ field: f.data, message: 'is required' });
  else if (!isPlainObject(data)) errors.push({ field: f.data, message: 'must be an object' });
  else if (data.text !== undefined && data.image !== undefined) {
    errors.push({ field: f.data, message: 'send either text or image, not both' });
  } else if (data.text !== undefined) {
    inputKind = 'text';
    ({ items, batched } = readList(data.text, f.text, limits, errors, (value, field) => readText(value, field, limits, errors)));
  } else if (data.image !== undefined) {
    inputKind = 'image';
    ({ items, batched } = readList(data.image, f.image, limits, errors, (value, field) => readImage(value, field, limits, errors, imageErrors)));
  } else {
    errors.push({ field: f.data, message: 'needs text or image' });
  }

  let parameters: Record<string, unknown> = {};
  if (input.parameters !== undefined) {
    if (isPlainObject(input.parameters)) parameters = input.parameters;
    else errors.push({ field: f.parameters, message: 'must be an object' });
  }

  let priority = defaultPriority(options.taskType);
  if (input.priority !== undefined) {
    if (isPriority(input.priority)) priority = input.priority;
    else errors.push({ field: f.priority, message: `must be one of ${PRIORITIES.join(', ')}` });
  }

  let timeoutSeconds = limits.default_timeout_seconds;
  if (input.timeoutSeconds !== undefined) {
    const t = input.timeoutSeconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_TIMEOUT_SECONDS) {
      errors.push({ field: f.timeoutSeconds, message: `must be a whole number from 1 to ${MAX_TIMEOUT_SECONDS}` });
    } else timeoutSeconds = t;
  }

  if (errors.length > 0) throw validationError(errors);

  if (options.taskType !== undefined) {
    const wantsImage = takesImages(options.taskType);
    const hasImage = inputKind === 'image';
    if (wantsImage !== hasImage) {
      throw new ModelMoraError(
        'INVALID_INPUT',
        `Model '${modelId}' (${options.taskType}) takes ${wantsImage ? f.image : f.text}`,
        { details: { task_type: options.taskType } },
      );
    }
    // Task parameters checked here too, so a bad size never reaches a queue or a runner.
    if (options.taskType === 'txt2img') readTxt2ImgParameters(parameters);
    if (generates(options.taskType, options.modelConfig)) parseGenerationOptions(parameters, generationLimits(options.modelConfig ?? {}));
  }

  if (imageErrors.length > 0) throw invalidImages(imageErrors);

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

/**
 * REST: base64 or a `data:image/...;base64,` URL; gRPC: bytes (a Uint8Array). Remote URLs are
 * not fetched (no SSRF from here). The header checks run here; the decode check is async
 * (readInferenceRequest).
 */
function readImage(value: unknown, field: string, limits: InputLimits, errors: FieldError[], imageErrors: FieldError[]): InferenceItem | undefined {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) bytes = value;
  else if (typeof value !== 'string') {
    errors.push({ field, message: 'must be a base64 string or a list of them' });
    return undefined;
  } else if (/^https?:\/\//i.test(value)) {
    errors.push({ field, message: 'image URLs are not fetched; send the image as base64' });
    return undefined;
  } else {
    const parsed = parseImageString(value);
    if ('problem' in parsed) {
      imageErrors.push({ field, message: parsed.problem });
      return undefined;
    }
    bytes = parsed.bytes;
  }
  const problem = imageBytesProblem(bytes, limits);
  if (problem) {
    imageErrors.push({ field, message: problem });
    return undefined;
  }
  return { kind: 'image', image: bytes };
}

/**
 * toInferenceRequest, then the one check that needs real work: every image must decode (done by
 * libvips on its own threads), so no undecodable image reaches a runner.
 */
export async function readInferenceRequest(
  modelId: string,
  input: InferenceInput,
  limits: InputLimits,
  options: RequestOptions = {},
): Promise<InferenceRequest> {
  const request = toInferenceRequest(modelId, input, limits, options);
  await checkImagesDecode(request.items, limits, (options.fields ?? DOCUMENT_FIELDS).image, request.batched);
  return request;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
