import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as input from '../../../src/services/inference-input.js';
import type { InputLimits, RequestOptions } from '../../../src/services/inference-input.js';
import { documentInput } from '../../../src/api/rest/infer.js';
import { ModelMoraError, type FieldError } from '../../../src/domain/errors.js';

/** The validator over a body in the API document's shape, as REST hands it over. */
const toInferenceRequest = (id: string, body: unknown, limits: InputLimits, options?: RequestOptions) => input.toInferenceRequest(id, documentInput(body), limits, options);


const limits: InputLimits = { max_inputs: 4, max_text_chars: 10, default_timeout_seconds: 60, max_image_pixels: 1_000_000 };
/** A 1x1 black PNG (what sharp writes). */
const PNG_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAADElEQVQImWNgYGAAAAAEAAGjChXjAAAAAElFTkSuQmCC';

function fieldErrors(body: unknown): FieldError[] {
  try {
    toInferenceRequest('org/m', body, limits);
  } catch (err) {
    assert.ok(err instanceof ModelMoraError);
    assert.equal(err.code, 'VALIDATION_ERROR');
    return err.fieldErrors ?? [];
  }
  assert.fail('expected a validation error');
}

describe('toInferenceRequest', () => {
  it('builds a single-text request with the defaults', () => {
    assert.deepEqual(toInferenceRequest('org/m', { input_data: { text: 'hello' } }, limits, { requestId: 'r1' }), {
      modelId: 'org/m',
      items: [{ kind: 'text', text: 'hello' }],
      batched: false,
      parameters: {},
      priority: 'medium',
      timeoutSeconds: 60,
      requestId: 'r1',
    });
  });

  it('builds a batched request and keeps priority, timeout and parameters', () => {
    const request = toInferenceRequest('org/m', { input_data: { text: ['a', 'b c'] }, priority: 'high', timeout_seconds: 600, parameters: { normalize: true } }, limits);
    assert.deepEqual(request.items, [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b c' }]);
    assert.equal(request.batched, true);
    assert.equal(request.priority, 'high');
    assert.equal(request.timeoutSeconds, 600);
    assert.deepEqual(request.parameters, { normalize: true });
  });

  it('names every offending field', () => {
    assert.deepEqual(fieldErrors({}), [{ field: 'input_data', message: 'is required' }]);
    assert.deepEqual(fieldErrors([]), [{ field: 'body', message: 'must be a JSON object' }]);
    assert.deepEqual(fieldErrors({ input_data: { text: '' }, priority: 'urgent', timeout_seconds: 0, parameters: [1] }), [
      { field: 'input_data.text', message: 'must not be empty' },
      { field: 'parameters', message: 'must be an object' },
      { field: 'priority', message: 'must be one of high, medium, low' },
      { field: 'timeout_seconds', message: 'must be a whole number from 1 to 600' },
    ]);
    assert.deepEqual(fieldErrors({ input_data: { text: 'ok' }, timeout_seconds: 601 }), [{ field: 'timeout_seconds', message: 'must be a whole number from 1 to 600' }]);
    assert.deepEqual(fieldErrors({ input_data: { text: 'ok' }, timeout_seconds: 1.5 }), [{ field: 'timeout_seconds', message: 'must be a whole number from 1 to 600' }]);
    assert.deepEqual(fieldErrors({ input_data: { text: 'ok' }, timeout_seconds: '30' }), [{ field: 'timeout_seconds', message: 'must be a whole number from 1 to 600' }]);
    assert.deepEqual(fieldErrors({ input_data: { text: ['ok', 3, '', 'x'.repeat(11)] } }), [
      { field: 'input_data.text[1]', message: 'must be a string or a list of strings' },
      { field: 'input_data.text[2]', message: 'must not be empty' },
      { field: 'input_data.text[3]', message: 'is 11 characters; at most 10 are allowed' },
    ]);
    assert.deepEqual(fieldErrors({ input_data: { text: [] } }), [{ field: 'input_data.text', message: 'must not be an empty list' }]);
    assert.deepEqual(fieldErrors({ input_data: {} }), [{ field: 'input_data', message: 'needs text or image' }]);
    assert.deepEqual(fieldErrors({ input_data: { text: 'a', image: 'AAAA' } }), [{ field: 'input_data', message: 'send either text or image, not both' }]);
  });

  it('answers BATCH_SIZE_EXCEEDED (413) above max_inputs, and accepts exactly max_inputs', () => {
    assert.equal(toInferenceRequest('org/m', { input_data: { text: ['a', 'b', 'c', 'd'] } }, limits).items.length, 4);
    assert.throws(
      () => toInferenceRequest('org/m', { input_data: { text: ['a', 'b', 'c', 'd', 'e'] } }, limits),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'BATCH_SIZE_EXCEEDED' && err.httpStatus === 413 && err.details?.['max_inputs'] === 4,
    );
  });

  it('decodes base64 and data: URL images, and refuses remote URLs and bad base64', () => {
    const png = Buffer.from(PNG_1x1, 'base64');
    const single = toInferenceRequest('org/m', { input_data: { image: png.toString('base64') } }, limits);
    assert.deepEqual(single.items, [{ kind: 'image', image: new Uint8Array(png) }]);
    const list = toInferenceRequest('org/m', { input_data: { image: [`data:image/png;base64,${png.toString('base64')}`] } }, limits);
    assert.equal(list.batched, true);
    assert.deepEqual(list.items, [{ kind: 'image', image: new Uint8Array(png) }]);
    assert.deepEqual(fieldErrors({ input_data: { image: 'https://example.com/cat.png' } }), [
      { field: 'input_data.image', message: 'image URLs are not fetched; send the image as base64' },
    ]);
    assert.throws(
      () => toInferenceRequest('org/m', { input_data: { image: [PNG_1x1, 'not base64!'] } }, limits),
      (err: unknown) =>
        err instanceof ModelMoraError && err.code === 'INVALID_INPUT' &&
        JSON.stringify(err.fieldErrors) === JSON.stringify([{ field: 'input_data.image[1]', message: 'must be base64 (optionally a data:image/...;base64, URL)' }]),
    );
  });

  it('answers INVALID_INPUT when the input does not suit the task type', () => {
    assert.throws(
      () => toInferenceRequest('org/m', { input_data: { image: PNG_1x1 } }, limits, { taskType: 'txt2embed' }),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT' && /takes input_data\.text/.test(err.message),
    );
    assert.throws(
      () => toInferenceRequest('org/m', { input_data: { text: 'a' } }, limits, { taskType: 'img2txt' }),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT',
    );
    assert.equal(toInferenceRequest('org/m', { input_data: { image: PNG_1x1 } }, limits, { taskType: 'img2embed' }).items.length, 1);
  });
});

describe('generation parameters are checked before any work', () => {
  const code = (taskType: 'txt2txt' | 'img2txt' | 'txt2embed', parameters: Record<string, unknown>, modelConfig: Record<string, unknown> = {}) => {
    const input_data = taskType === 'img2txt' ? { image: PNG_1x1 } : { text: 'hi' };
    try {
      toInferenceRequest('org/m', { input_data, parameters }, limits, { taskType, modelConfig });
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof ModelMoraError);
      return `${err.code}: ${err.message}`;
    }
  };

  it('refuses a bad max_tokens, temperature, top_p, seed or stop for a txt2txt model', () => {
    assert.equal(code('txt2txt', { max_tokens: 0 }), 'INVALID_INPUT: parameters.max_tokens must be a whole number from 1 to 1024');
    assert.equal(code('txt2txt', { max_tokens: 20 }, { max_tokens_limit: 16 }), 'INVALID_INPUT: parameters.max_tokens must be a whole number from 1 to 16');
    assert.equal(code('txt2txt', { temperature: 'hot' }), 'INVALID_INPUT: parameters.temperature must be a number from 0 to 100');
    assert.equal(code('txt2txt', { top_p: 0 }), 'INVALID_INPUT: parameters.top_p must be a number from above 0 to 1');
    assert.equal(code('txt2txt', { seed: -1 }), 'INVALID_INPUT: parameters.seed must be a whole number from 0 to 4294967295');
    assert.equal(code('txt2txt', { stop: [''] }), 'INVALID_INPUT: parameters.stop must be a string or a list of strings of 1 to 100 characters');
    assert.equal(code('txt2txt', { max_tokens: 16, temperature: 0.7, top_p: 0.9, top_k: 40, seed: 7, stop: ['.'] }, { max_tokens_limit: 16 }), 'ok');
  });

  it('checks a declared captioner the same way, and leaves other tasks and undeclared img2txt to their runner', () => {
    assert.equal(code('img2txt', { max_tokens: 0 }, { family: 'captioning' }), 'INVALID_INPUT: parameters.max_tokens must be a whole number from 1 to 1024');
    assert.equal(code('img2txt', { max_tokens: 0 }), 'ok');
    assert.equal(code('txt2embed', { max_tokens: 0 }), 'ok');
  });
});
