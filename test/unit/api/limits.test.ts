import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceResult } from '../../../src/domain/inference.js';
import { InFlightLimit } from '../../../src/services/in-flight.js';
import { nestingDepth, parseJsonBody } from '../../../src/api/rest/json-body.js';
import { IdleMemoryRelease } from '../../../src/daemon/memory-release.js';
import { testApp, type TestApp } from '../../support/rest-app.js';

describe('JSON body checks', () => {
  test('nesting depth ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(nestingDepth('{"a":[1,{"b":2}]}'), 3);
    assert.equal(nestingDepth('{"a":"[[[[{{{{"}'), 1);
    assert.equal(nestingDepth('{"a":"quote \\" [[[[ still a string","b":[]}'), 2);
    assert.equal(nestingDepth('"just a string \\\\"'), 0);
    assert.equal(nestingDepth(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 32), 33, 'stops counting past the limit');
  });

  test('too deep, __proto__ (also escaped) and constructor.prototype are VALIDATION_ERRORs naming the field', () => {
    const refused = (text: string, field: string) =>
      assert.throws(
        () => parseJsonBody(text, 8),
        (err: unknown) => err instanceof ModelMoraError && err.code === 'VALIDATION_ERROR' && err.fieldErrors?.[0]?.field === field,
        text,
      );
    refused(`{"a":${'['.repeat(9)}${']'.repeat(9)}}`, 'body');
    refused('{"x":{"__proto__":{"admin":true}}}', 'x.__proto__');
    refused('{"list":[{"\\u005f_proto__":1}]}', 'list[0].__proto__');
    refused('{"constructor":{"prototype":{"admin":true}}}', 'constructor.prototype');
    refused('', 'body');
    refused('{"a":', 'body');
    assert.deepEqual(parseJsonBody('{"constructor":"a plain key","a":[[[[[[[1]]]]]]]}', 8), { constructor: 'a plain key', a: [[[[[[[1]]]]]]] });
  });
});

describe('the global in-flight cap over REST', () => {
  let t: TestApp;
  let release: () => void = () => undefined;
  before(async () => {
    t = await testApp({ inFlight: new InFlightLimit(2) });
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
  });
  after(() => t.close());

  test('over the cap: 503 SERVICE_UNAVAILABLE with Retry-After before the body is read; probes still answer; a slot frees when a request ends', async () => {
    const gate = new Promise<void>((resolve) => (release = resolve));
    t.engine.behaviour = async (request) => {
      await gate;
      return { modelId: request.modelId, taskType: 'txt2embed', outputs: [{ kind: 'embedding', embedding: [1] }], batched: false, metadata: { inference_time_ms: 1, total_time_ms: 1, batch_size: 1, device: 'cpu', queue_time_ms: 0 } } as InferenceResult;
    };
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}/api/v1`;
    const post = () => fetch(`${base}/infer/org/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_data: { text: 'x' } }) });
    const held = [post(), post()];
    for (let i = 0; i < 200 && t.engine.inferCalls.length < 2; i++) await sleep(5);
    assert.equal(t.engine.inferCalls.length, 2);

    const refused = await post();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    const body = (await refused.json()) as { error_code: string; details: { max_in_flight: number } };
    assert.equal(body.error_code, 'SERVICE_UNAVAILABLE');
    assert.equal(body.details.max_in_flight, 2);
    assert.equal(t.engine.inferCalls.length, 2, 'the refused request never reached the engine');
    assert.equal((await fetch(`${base}/health/live`)).status, 200, 'probes are not counted');
    assert.equal((await fetch(`http://127.0.0.1:${address.port}/metrics`)).status, 200);

    release();
    assert.deepEqual(await Promise.all(held.map(async (r) => (await r).status)), [200, 200]);
    t.engine.behaviour = undefined;
    assert.equal((await post()).status, 200, 'slots were given back');
  });
});

describe('IdleMemoryRelease', () => {
  test('releases once after a burst goes idle, not after a handful of requests', async () => {
    const memory = new IdleMemoryRelease({ idleMs: 10, minRequests: 3 });
    const limit = new InFlightLimit(0, memory);
    limit.enter()();
    for (let i = 0; i < 20 && memory.releases === 0; i++) await sleep(10);
    assert.equal(memory.releases, 0, 'one request is no burst');
    const leaves = [limit.enter(), limit.enter(), limit.enter()];
    leaves.forEach((leave) => leave());
    for (let i = 0; i < 200 && memory.releases === 0; i++) await sleep(10);
    assert.equal(memory.releases, 1);
    memory.stop();
  });
});
