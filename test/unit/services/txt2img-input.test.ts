import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as input from '../../../src/services/inference-input.js';
import type { InputLimits, RequestOptions } from '../../../src/services/inference-input.js';
import { documentInput } from '../../../src/api/rest/infer.js';
import { ModelMoraError } from '../../../src/domain/errors.js';

/** The validator over a body in the API document's shape, as REST hands it over. */
const toInferenceRequest = (id: string, body: unknown, limits: InputLimits, options?: RequestOptions) => input.toInferenceRequest(id, documentInput(body), limits, options);


const limits = { max_inputs: 4, max_text_chars: 100, default_timeout_seconds: 60, max_image_pixels: 178_956_970 } as InputLimits;

describe('txt2img requests', () => {
  it('default to the low priority; other tasks to medium; an explicit priority wins', () => {
    const body = { input_data: { text: 'a red dog' } };
    assert.equal(toInferenceRequest('org/sd', body, limits, { taskType: 'txt2img' }).priority, 'low');
    assert.equal(toInferenceRequest('org/e', body, limits, { taskType: 'txt2embed' }).priority, 'medium');
    assert.equal(toInferenceRequest('org/e', body, limits).priority, 'medium');
    assert.equal(toInferenceRequest('org/sd', { ...body, priority: 'high' }, limits, { taskType: 'txt2img' }).priority, 'high');
  });

  it('bad width, height, steps or seed are INVALID_INPUT before anything is queued', () => {
    for (const parameters of [{ width: 63 }, { width: 0 }, { height: 4096 }, { steps: 0 }, { seed: -3 }, { guidance_scale: 'x' }]) {
      assert.throws(
        () => toInferenceRequest('org/sd', { input_data: { text: 'a cat' }, parameters }, limits, { taskType: 'txt2img' }),
        (err) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT' && /parameters\./.test(err.message),
        JSON.stringify(parameters),
      );
    }
    // The same parameters mean nothing to a txt2embed model and pass through.
    assert.deepEqual(toInferenceRequest('org/e', { input_data: { text: 'a' }, parameters: { width: 63 } }, limits, { taskType: 'txt2embed' }).parameters, { width: 63 });
  });
});
