import { isErrorCode } from '../domain/errors.js';
import type { InferenceItem, InferenceRequest, InferenceResult, ItemOutput } from '../domain/inference.js';
import { JOB_STATES, type JobState } from '../domain/jobs.js';
import type { JobError, JobPatch, JobRecord } from './job-store.js';

/**
 * Jobs as JSON, for stores that keep text (the journal, Redis). Binary parts become base64:
 * a Float32Array embedding is its raw little-endian bytes (4 bytes a value, a third of the text
 * a number list takes), images and PNGs their bytes. Decoding checks shapes, so a damaged
 * record is rejected as a whole rather than half-read.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function encodeJob(job: JobRecord): JsonObject {
  return {
    ...encodePatch(job),
    id: job.id,
    modelId: job.modelId,
    priority: job.priority,
    createdAt: job.createdAt,
    ...(job.owner !== undefined && { owner: job.owner }),
    request: encodeRequest(job.request),
  };
}

export function decodeJob(value: unknown): JobRecord {
  const o = object(value);
  const request = decodeRequest(o['request']);
  const job: JobRecord = {
    id: string(o['id']),
    modelId: string(o['modelId']),
    priority: request.priority,
    status: 'queued',
    progress: 0,
    createdAt: number(o['createdAt']),
    attempts: 0,
    request,
  };
  if (o['owner'] !== undefined) job.owner = string(o['owner']);
  return Object.assign(job, decodePatch(o));
}

export function encodePatch(patch: JobPatch): JsonObject {
  const out: JsonObject = {};
  if (patch.status !== undefined) out['status'] = patch.status;
  if (patch.progress !== undefined) out['progress'] = patch.progress;
  if (patch.startedAt !== undefined) out['startedAt'] = patch.startedAt;
  if (patch.completedAt !== undefined) out['completedAt'] = patch.completedAt;
  if (patch.attempts !== undefined) out['attempts'] = patch.attempts;
  if (patch.error !== undefined) out['error'] = patch.error as unknown as JsonObject;
  if (patch.result !== undefined) out['result'] = encodeResult(patch.result);
  return out;
}

export function decodePatch(value: unknown): JobPatch {
  const o = object(value);
  const patch: JobPatch = {};
  if (o['status'] !== undefined) patch.status = state(o['status']);
  if (o['progress'] !== undefined) patch.progress = number(o['progress']);
  if (o['startedAt'] !== undefined) patch.startedAt = number(o['startedAt']);
  if (o['completedAt'] !== undefined) patch.completedAt = number(o['completedAt']);
  if (o['attempts'] !== undefined) patch.attempts = number(o['attempts']);
  if (o['error'] !== undefined) patch.error = decodeError(o['error']);
  if (o['result'] !== undefined) patch.result = decodeResult(o['result']);
  return patch;
}

function encodeRequest(request: InferenceRequest): JsonObject {
  const out: JsonObject = {
    modelId: request.modelId,
    items: request.items.map((item): JsonObject => (item.kind === 'text' ? { text: item.text } : { image: base64(item.image) })),
    batched: request.batched,
    parameters: request.parameters as JsonObject,
    priority: request.priority,
    timeoutSeconds: request.timeoutSeconds,
  };
  if (request.requestId !== undefined) out['requestId'] = request.requestId;
  return out;
}

function decodeRequest(value: unknown): InferenceRequest {
  const o = object(value);
  const priority = o['priority'];
  if (priority !== 'high' && priority !== 'medium' && priority !== 'low') throw bad('priority');
  const request: InferenceRequest = {
    modelId: string(o['modelId']),
    items: array(o['items']).map((raw): InferenceItem => {
      const item = object(raw);
      return typeof item['text'] === 'string' ? { kind: 'text', text: item['text'] } : { kind: 'image', image: bytes(item['image']) };
    }),
    batched: o['batched'] === true,
    parameters: object(o['parameters']),
    priority,
    timeoutSeconds: number(o['timeoutSeconds']),
  };
  if (typeof o['requestId'] === 'string') request.requestId = o['requestId'];
  return request;
}

function encodeResult(result: InferenceResult): JsonObject {
  return {
    modelId: result.modelId,
    taskType: result.taskType,
    batched: result.batched,
    metadata: result.metadata as unknown as JsonObject,
    outputs: result.outputs.map((output): JsonObject => {
      switch (output.kind) {
        case 'embedding':
          return output.embedding instanceof Float32Array ? { f32: base64(output.embedding) } : { embedding: output.embedding };
        case 'text':
          return { text: output.text };
        case 'image':
          return { png: base64(output.png), width: output.width, height: output.height };
      }
    }),
  };
}

function decodeResult(value: unknown): InferenceResult {
  const o = object(value);
  return {
    modelId: string(o['modelId']),
    taskType: string(o['taskType']) as InferenceResult['taskType'],
    batched: o['batched'] === true,
    metadata: object(o['metadata']) as unknown as InferenceResult['metadata'],
    outputs: array(o['outputs']).map((raw): ItemOutput => {
      const out = object(raw);
      if (typeof out['f32'] === 'string') {
        const b = bytes(out['f32']);
        if (b.byteLength % 4 !== 0) throw bad('f32');
        // Copy into an aligned buffer: a Buffer slice may start at any offset.
        return { kind: 'embedding', embedding: new Float32Array(new Uint8Array(b).buffer) };
      }
      if (Array.isArray(out['embedding'])) return { kind: 'embedding', embedding: out['embedding'].map(number) };
      if (typeof out['text'] === 'string') return { kind: 'text', text: out['text'] };
      return { kind: 'image', png: bytes(out['png']), width: number(out['width']), height: number(out['height']) };
    }),
  };
}

function decodeError(value: unknown): JobError {
  const o = object(value);
  const code = o['error_code'];
  const error: JobError = { error_code: isErrorCode(code) ? code : 'INTERNAL_ERROR', message: string(o['message']) };
  if (o['details'] !== undefined) error.details = object(o['details']);
  return error;
}

function base64(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

function bytes(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(string(value), 'base64'));
}

function state(value: unknown): JobState {
  if (!(JOB_STATES as readonly unknown[]).includes(value)) throw bad('status');
  return value as JobState;
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('object');
  return value as Record<string, unknown>;
}

function array(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw bad('array');
  return value;
}

function string(value: unknown): string {
  if (typeof value !== 'string') throw bad('string');
  return value;
}

function number(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('number');
  return value;
}

function bad(what: string): Error {
  return new Error(`job record: bad ${what}`);
}
