import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../../../src/domain/inference.js';
import { testApp, type TestApp } from '../../support/rest-app.js';
import { parseSse } from '../../support/sse.js';

function textResult(request: InferenceRequest, texts: string[]): InferenceResult {
  return {
    modelId: request.modelId,
    taskType: 'txt2txt',
    outputs: texts.map((text) => ({ kind: 'text', text })),
    batched: request.batched,
    metadata: { inference_time_ms: 4, total_time_ms: 5, batch_size: texts.length, device: 'cpu' },
  };
}

describe('POST /infer/{model_id} with stream: true', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
    await t.registry.register({ model_id: 'org/gen', task_type: 'txt2txt' });
  });
  afterEach(() => t.close());

  const infer = (payload: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/infer/org/gen', payload: payload as object });

  it('sends one token event per piece, then done with the full InferenceResponse', async () => {
    t.engine.behaviour = async (request, _signal, { onProgress }) => {
      for (const token of ['Once', ' upon', ' a time']) onProgress?.({ itemIndex: 0, token, progress: 10 });
      onProgress?.({ itemIndex: 0, progress: 100 }); // progress without text: no event
      return textResult(request, ['Once upon a time']);
    };
    const res = await infer({ input_data: { text: 'go' }, stream: true });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    assert.ok(res.headers['x-trace-id']);
    const events = parseSse(res.body);
    assert.deepEqual(events.slice(0, 3), [['token', { token: 'Once' }], ['token', { token: ' upon' }], ['token', { token: ' a time' }]]);
    assert.equal(events.length, 4);
    assert.equal(events[3]![0], 'done');
    assert.deepEqual((events[3]![1] as { output_data: unknown }).output_data, { text: 'Once upon a time' });
  });

  it('tags tokens of a list with their index', async () => {
    t.engine.behaviour = async (request, _signal, { onProgress }) => {
      onProgress?.({ itemIndex: 1, token: 'b' });
      onProgress?.({ itemIndex: 0, token: 'a' });
      return textResult(request, ['a', 'b']);
    };
    const events = parseSse((await infer({ input_data: { text: ['x', 'y'] }, stream: true })).body);
    assert.deepEqual(events.slice(0, 2), [['token', { token: 'b', index: 1 }], ['token', { token: 'a', index: 0 }]]);
    assert.deepEqual((events[2]![1] as { output_data: unknown }).output_data, { texts: ['a', 'b'] });
  });

  it('an error after the stream started is an error event with the Error body', async () => {
    t.engine.behaviour = async (_request, _signal, { onProgress }) => {
      onProgress?.({ itemIndex: 0, token: 'half' });
      throw new ModelMoraError('INFERENCE_FAILED', 'Runner fell over');
    };
    const res = await infer({ input_data: { text: 'go' }, stream: true });
    assert.equal(res.statusCode, 200);
    const events = parseSse(res.body);
    assert.deepEqual(events[0], ['token', { token: 'half' }]);
    assert.equal(events[1]![0], 'error');
    assert.equal((events[1]![1] as { error_code: string }).error_code, 'INFERENCE_FAILED');
    assert.equal((events[1]![1] as { trace_id: string }).trace_id, res.headers['x-trace-id']);
    assert.equal(events.length, 2);
  });

  it('bad requests are refused as plain JSON before any stream starts', async () => {
    const bad = await infer({ input_data: { text: '' }, stream: true });
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /application\/json/);
    const notBool = await infer({ input_data: { text: 'x' }, stream: 'yes' });
    assert.equal(notBool.statusCode, 400);
    assert.deepEqual(notBool.json().validation_errors, [{ field: 'stream', message: 'must be true or false' }]);
    assert.equal(t.engine.inferCalls.length, 0);
  });
});
