import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceRequest, InferenceResult, ItemOutput } from '../../../src/domain/inference.js';
import { inferenceResponseJson, toInferenceResponse } from '../../../src/api/rest/inference-response.js';
import { solidImage } from '../../support/images.js';
import { parsePrometheus, sampleValue } from '../../support/prom-parse.js';
import { testApp, type TestApp } from '../../support/rest-app.js';

function result(request: InferenceRequest, outputs: ItemOutput[]): InferenceResult {
  return {
    modelId: request.modelId,
    taskType: 'txt2txt',
    outputs,
    batched: request.batched,
    metadata: { inference_time_ms: 4, total_time_ms: 5, batch_size: outputs.length, device: 'cpu' },
  };
}

describe('POST /infer/{model_id}', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await t.registry.register({ model_id: 'org/vision', task_type: 'img2embed' });
  });
  afterEach(() => t.close());

  const infer = (id: string, payload: unknown) => t.app.inject({ method: 'POST', url: `/api/v1/infer/${id}`, payload: payload as object });

  it('answers embedding for one text and embeddings for a list, with metadata', async () => {
    const one = await infer('org%2Fembed', { input_data: { text: 'hello big world' }, parameters: { normalize: true } });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), {
      model_id: 'org/embed',
      output_data: { embedding: [15, 3, 0.5] },
      metadata: { inference_time_ms: 1.5, total_time_ms: 2.5, queue_time_ms: 1, batch_size: 1, device: 'cpu' },
    });
    const many = await infer('org/embed', { input_data: { text: ['a b', 'c'] } });
    assert.deepEqual(many.json().output_data, { embeddings: [[3, 2, 0.5], [1, 1, 0.5]] });

    const [first, second] = t.engine.inferCalls;
    assert.equal(first?.request.modelId, 'org/embed');
    assert.equal(first?.request.priority, 'medium');
    assert.equal(first?.request.timeoutSeconds, 60);
    assert.deepEqual(first?.request.parameters, { normalize: true });
    assert.equal(first?.request.requestId, one.headers['x-trace-id']);
    assert.equal(second?.request.batched, true);
    // The request can be cancelled: a live signal goes with it (the cancel tests below abort one).
    assert.equal(first?.signal?.aborted, false);
  });

  it('prints float32 embeddings with the digits that round-trip them', async () => {
    const sent = Float32Array.from([0.1, -1 / 3, 1e-8, 0.123456789, 3]);
    t.engine.behaviour = async (request) => result(request, [{ kind: 'embedding', embedding: sent }]);
    const res = await infer('org/embed', { input_data: { text: 'x' } });
    assert.ok(res.body.includes('[0.1,-0.33333334,1e-8,0.12345679,3]'), res.body);
    const got = res.json().output_data.embedding as number[];
    assert.deepEqual(Float32Array.from(got), sent);
  });

  it('answers text, texts and image_base64 outputs', async () => {
    t.engine.behaviour = async (request) =>
      result(request, request.batched ? [{ kind: 'text', text: 'A' }, { kind: 'text', text: 'B' }] : [{ kind: 'image', png: new Uint8Array([1, 2, 3]), width: 1, height: 1 }]);
    assert.deepEqual((await infer('org/embed', { input_data: { text: ['a', 'b'] } })).json().output_data, { texts: ['A', 'B'] });
    assert.deepEqual((await infer('org/embed', { input_data: { text: 'draw' } })).json().output_data, { image_base64: 'AQID' });
    t.engine.behaviour = async (request) => result(request, [{ kind: 'text', text: 'Once upon' }]);
    assert.deepEqual((await infer('org/embed', { input_data: { text: 'go' } })).json().output_data, { text: 'Once upon' });
  });

  it('passes priority, timeout and base64 images through', async () => {
    const png = await solidImage('png', 3, 2);
    const res = await infer('org/vision', { input_data: { image: png.toString('base64') }, priority: 'low', timeout_seconds: 300 });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().output_data, { embedding: [png.length, 0, 0] });
    const call = t.engine.inferCalls[0]?.request;
    assert.deepEqual(call?.items, [{ kind: 'image', image: new Uint8Array(png) }]);
    assert.equal(call?.priority, 'low');
    assert.equal(call?.timeoutSeconds, 300);
  });

  it('answers 400 VALIDATION_ERROR with field entries before the engine is called', async () => {
    for (const [body, fields] of [
      [{ input_data: { text: 'x' }, priority: 'urgent' }, ['priority']],
      [{ input_data: { text: 'x' }, timeout_seconds: 0 }, ['timeout_seconds']],
      [{ input_data: { text: 'x' }, timeout_seconds: 601 }, ['timeout_seconds']],
      [{ input_data: { text: ['ok', ''] }, priority: 'urgent' }, ['input_data.text[1]', 'priority']],
      [{ parameters: {} }, ['input_data']],
    ] as const) {
      const res = await infer('org/embed', body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      const err = res.json();
      assert.equal(err.error_code, 'VALIDATION_ERROR');
      assert.deepEqual(err.validation_errors.map((e: { field: string }) => e.field), fields);
    }
    assert.equal(t.engine.inferCalls.length, 0);
  });

  it('answers 413 BATCH_SIZE_EXCEEDED above max_inputs and 400 INVALID_INPUT for the wrong input kind', async () => {
    const big = await infer('org/embed', { input_data: { text: Array.from({ length: 9 }, (_, i) => `t${i}`) } });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error_code, 'BATCH_SIZE_EXCEEDED');
    const wrong = await infer('org/embed', { input_data: { image: (await solidImage('png', 2, 2)).toString('base64') } });
    assert.equal(wrong.statusCode, 400);
    assert.equal(wrong.json().error_code, 'INVALID_INPUT');
  });

  it('answers 404 MODEL_NOT_FOUND and 400 INVALID_MODEL_ID', async () => {
    const missing = await infer('org%2Fmissing', { input_data: { text: 'x' } });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error_code, 'MODEL_NOT_FOUND');
    const bad = await infer('org%2F..%2Fx', { input_data: { text: 'x' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error_code, 'INVALID_MODEL_ID');
  });

  it('maps engine errors: 429 with Retry-After, 408, 507, and 500 without internals', async () => {
    t.engine.behaviour = async () => {
      throw new ModelMoraError('RATE_LIMIT_EXCEEDED', 'Queue of org/embed is full', { details: { retry_after_seconds: 2.5 } });
    };
    const limited = await infer('org/embed', { input_data: { text: 'x' } });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], '3');
    assert.deepEqual(limited.json().details, { retry_after_seconds: 2.5 });

    t.engine.behaviour = async () => {
      throw new ModelMoraError('RATE_LIMIT_EXCEEDED', 'Queue full');
    };
    assert.equal((await infer('org/embed', { input_data: { text: 'x' } })).headers['retry-after'], '1');

    t.engine.behaviour = async () => {
      throw new ModelMoraError('INFERENCE_TIMEOUT', 'Deadline of 60 s passed');
    };
    assert.equal((await infer('org/embed', { input_data: { text: 'x' } })).statusCode, 408);
    t.engine.behaviour = async () => {
      throw new ModelMoraError('INSUFFICIENT_MEMORY', 'Needs 900 MB, 100 MB free');
    };
    assert.equal((await infer('org/embed', { input_data: { text: 'x' } })).statusCode, 507);

    t.engine.behaviour = async () => {
      throw new Error('ENOENT: /home/alice/.modelmora/cache/models--org--embed/secret');
    };
    const crash = await infer('org/embed', { input_data: { text: 'x' } });
    assert.equal(crash.statusCode, 500);
    assert.deepEqual(Object.keys(crash.json()).sort(), ['error_code', 'message', 'trace_id']);
    assert.equal(crash.json().error_code, 'INTERNAL_ERROR');
    assert.equal(crash.json().message, 'Internal error');
    assert.ok(!crash.body.includes('/home/alice') && !crash.body.includes('at '));
  });

  it('refuses bad JSON (400) and bodies over the limit (413), allowing larger bodies for image models', async () => {
    const badJson = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org/embed', headers: { 'content-type': 'application/json' }, payload: '{"input_data":' });
    assert.equal(badJson.statusCode, 400);
    assert.equal(badJson.json().error_code, 'VALIDATION_ERROR');
    assert.deepEqual(badJson.json().validation_errors, [{ field: 'body', message: 'is not valid JSON' }]);

    // 1.5 MB: over body_limit_mb (1) for a text model, under image_body_limit_mb (4) for an image model.
    const padding = 'A'.repeat(1.5 * 1024 * 1024);
    const text = await infer('org/embed', { input_data: { text: 'x' }, parameters: { padding } });
    assert.equal(text.statusCode, 413);
    assert.equal(text.json().error_code, 'PAYLOAD_TOO_LARGE');
    // Accepted by the body limit, then refused by the image checks (zeros are no image).
    const image = await infer('org/vision', { input_data: { image: padding } });
    assert.equal(image.statusCode, 400);
    assert.equal(image.json().error_code, 'INVALID_INPUT');
    const huge = await infer('org/vision', { input_data: { image: 'A'.repeat(5 * 1024 * 1024) } });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().error_code, 'PAYLOAD_TOO_LARGE');

    // Without Content-Length (chunked), the bytes are counted as they arrive.
    const chunked = (text: string) => Readable.from(Array.from({ length: Math.ceil(text.length / 65536) }, (_, i) => Buffer.from(text.slice(i * 65536, (i + 1) * 65536))));
    const headers = { 'content-type': 'application/json' };
    const streamedBig = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org/embed', headers, payload: chunked(JSON.stringify({ input_data: { text: 'x' }, parameters: { padding } })) });
    assert.equal(streamedBig.statusCode, 413);
    assert.equal(streamedBig.json().error_code, 'PAYLOAD_TOO_LARGE');
    const streamedSmall = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org/embed', headers, payload: chunked(JSON.stringify({ input_data: { text: 'hello' } })) });
    assert.deepEqual(streamedSmall.json().output_data, { embedding: [5, 1, 0.5] });
  });

  it('counts requests by outcome in modelmora_requests_total', async () => {
    await infer('org/embed', { input_data: { text: 'x' } });
    await infer('org/embed', { input_data: { text: 'y' } });
    await infer('org/embed', { input_data: { text: 'x' }, priority: 'urgent' });
    t.engine.behaviour = async () => {
      throw new ModelMoraError('RATE_LIMIT_EXCEEDED', 'full');
    };
    await infer('org/embed', { input_data: { text: 'x' } });
    const families = parsePrometheus((await t.app.inject({ method: 'GET', url: '/api/v1/metrics' })).body);
    assert.equal(sampleValue(families, 'modelmora_requests_total', { model_id: 'org/embed', status: 'success' }), 2);
    assert.equal(sampleValue(families, 'modelmora_requests_total', { model_id: 'org/embed', status: 'invalid' }), 1);
    assert.equal(sampleValue(families, 'modelmora_requests_total', { model_id: 'org/embed', status: 'rejected' }), 1);
    assert.equal(sampleValue(families, 'modelmora_inference_duration_seconds_count', { model_id: 'org/embed' }), 2);
  });
});

describe('POST /infer/{model_id} over a real socket', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('aborts the engine call when the client disconnects', async () => {
    t = await testApp();
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    let engineCalled!: () => void;
    const called = new Promise<void>((resolve) => (engineCalled = resolve));
    const aborted = new Promise<string>((resolve) => {
      t.engine.behaviour = (_request, signal) => {
        engineCalled();
        return new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => {
            resolve('aborted');
            reject(new ModelMoraError('CANCELLED', 'Client went away'));
          });
        });
      };
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const body = JSON.stringify({ input_data: { text: 'slow' } });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/infer/org%2Fembed', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    req.on('error', () => undefined);
    req.end(body);
    await called;
    req.destroy();
    assert.equal(await aborted, 'aborted');
    assert.equal(t.engine.inferCalls[0]?.signal?.aborted, true);

    // The outcome is recorded as cancelled once the handler has finished.
    let families = parsePrometheus(await t.metrics.render());
    for (let i = 0; i < 50 && !families.get('modelmora_requests_total')?.samples.length; i++) {
      await new Promise((r) => setImmediate(r));
      families = parsePrometheus(await t.metrics.render());
    }
    assert.equal(sampleValue(families, 'modelmora_requests_total', { model_id: 'org/embed', status: 'cancelled' }), 1);
  });
});

describe('inferenceResponseJson', () => {
  const base = { modelId: 'org/m', taskType: 'txt2embed' as const, metadata: { inference_time_ms: 1.25, total_time_ms: 2.5, batch_size: 3, device: 'cpu' as const, queue_time_ms: 0.5 } };
  const e = (values: number[]): ItemOutput => ({ kind: 'embedding', embedding: Float32Array.from(values) });
  const cases: Array<{ name: string; result: InferenceResult }> = [
    { name: 'one embedding', result: { ...base, batched: false, outputs: [e([0.1, -1 / 3, 1e-8, 3])] } },
    { name: 'a batch of embeddings', result: { ...base, batched: true, outputs: [e([0.25, 1]), e([-0.5, 2e-7]), e([])] } },
    { name: 'number[] embeddings', result: { ...base, batched: true, outputs: [{ kind: 'embedding', embedding: [0.1, 0.2] }] } },
    { name: 'texts', result: { ...base, batched: true, outputs: [{ kind: 'text', text: 'a"b' }, { kind: 'text', text: 'ü' }] } },
    { name: 'an image', result: { ...base, batched: false, outputs: [{ kind: 'image', png: new Uint8Array([1, 2, 3]), width: 1, height: 1 }] } },
    { name: 'embeddings and texts together', result: { ...base, batched: true, outputs: [e([0.75]), { kind: 'text', text: 'x' }] } },
    { name: 'an embedding and a text, one input', result: { ...base, batched: false, outputs: [e([0.75]), { kind: 'text', text: 'x' }] } },
  ];
  for (const { name, result: r } of cases) {
    it(`writes what JSON.stringify(toInferenceResponse(...)) writes: ${name}`, () => {
      assert.equal(inferenceResponseJson(r), JSON.stringify(toInferenceResponse(r)));
    });
  }
});
