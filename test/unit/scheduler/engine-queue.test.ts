import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeEmbedding } from '../../fixtures/fake-runner-factory.js';
import { codeOf, engineSetup, errorOf } from '../../fixtures/engine-setup.js';
import { settle } from '../../fixtures/manual-clock.js';

const embed = (text: string, parameters: Record<string, unknown> = {}) => fakeEmbedding({ kind: 'text', text }, parameters);

test('32 concurrent single requests reach the runner as < 8 calls; each gets its own result', async () => {
  const t = engineSetup();
  const words = Array.from({ length: 32 }, (_, i) => `text number ${i} ${'x'.repeat(i)}`);
  const pending = words.map((w) => t.infer('org/a', [w]));
  await t.clock.advance(2); // max_delay_ms
  const results = await Promise.all(pending);
  assert.ok(t.runners.calls.length < 8, `${t.runners.calls.length} runner calls`);
  assert.equal(t.runners.calls.reduce((n, c) => n + c.texts.length, 0), 32);
  results.forEach((r, i) => {
    assert.deepEqual(r.outputs, [embed(words[i]!)]);
    assert.equal(r.batched, false);
    assert.equal(r.taskType, 'txt2embed');
    assert.equal(r.metadata.device, 'cpu');
    assert.equal(r.metadata.inference_time_ms, 5);
    assert.ok(r.metadata.batch_size > 1);
  });
  // Batched answers equal unbatched ones.
  const alone = t.infer('org/a', [words[7]!]);
  await t.clock.advance(2);
  assert.deepEqual((await alone).outputs, results[7]!.outputs);
  assert.equal((await alone).metadata.batch_size, 1);
});

test('a list request keeps input order and reports batch metadata', async () => {
  const t = engineSetup();
  const r = t.infer('org/a', ['one', 'two', 'three'], { parameters: { normalize: false } });
  await t.clock.advance(2);
  const result = await r;
  assert.equal(result.batched, true);
  assert.deepEqual(result.outputs, ['one', 'two', 'three'].map((w) => embed(w, { normalize: false })));
  assert.equal(result.metadata.batch_size, 3);
  assert.equal(result.metadata.queue_time_ms, 2);
  assert.equal(result.metadata.total_time_ms, 2);
});

test('high first, FIFO within a level, while the runner is held busy', async () => {
  const t = engineSetup({ config: { max_batch_size: 1, max_delay_ms: 0 } });
  t.runners.hold();
  const first = t.infer('org/a', ['busy']);
  await settle();
  assert.equal(t.runners.calls.length, 1);
  const rest = [
    t.infer('org/a', ['low-1'], { priority: 'low' }),
    t.infer('org/a', ['med-1'], { priority: 'medium' }),
    t.infer('org/a', ['high-1'], { priority: 'high' }),
    t.infer('org/a', ['low-2'], { priority: 'low' }),
    t.infer('org/a', ['high-2'], { priority: 'high' }),
  ];
  await settle();
  assert.deepEqual(t.engine.queueDepth(), { high_priority: 2, medium_priority: 1, low_priority: 2 });
  t.runners.letGo();
  await Promise.all([first, ...rest]);
  assert.deepEqual(t.runners.calls.map((c) => c.texts[0]), ['busy', 'high-1', 'high-2', 'med-1', 'low-1', 'low-2']);
  assert.deepEqual(t.engine.queueDepth(), { high_priority: 0, medium_priority: 0, low_priority: 0 });
});

test('full queue: RATE_LIMIT_EXCEEDED at once with retry_after_seconds', async () => {
  const t = engineSetup({ config: { max_batch_size: 1, max_delay_ms: 0, max_queue_size: 3 } });
  t.runners.hold();
  const running = t.infer('org/a', ['busy']);
  await settle();
  const queued = [t.infer('org/a', ['q1']), t.infer('org/a', ['q2']), t.infer('org/a', ['q3'])];
  await settle();
  const err = await errorOf(t.infer('org/a', ['too many']));
  assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
  assert.equal(err.httpStatus, 429);
  assert.ok((err.details?.retry_after_seconds as number) >= 1);
  t.runners.letGo();
  await Promise.all([running, ...queued]);
  assert.equal(t.runners.calls.length, 4);
});

test('deadline passes in the queue: INFERENCE_TIMEOUT, and the runner never sees it', async () => {
  const t = engineSetup({ config: { max_batch_size: 1, max_delay_ms: 0 } });
  t.runners.hold();
  const running = t.infer('org/a', ['busy']);
  await settle();
  const late = codeOf(t.infer('org/a', ['late'], { timeoutSeconds: 1, priority: 'high' }));
  const patient = t.infer('org/a', ['patient'], { timeoutSeconds: 60 });
  await t.clock.advance(1000);
  assert.equal(await late, 'INFERENCE_TIMEOUT');
  t.runners.letGo();
  await Promise.all([running, patient]);
  assert.deepEqual(t.runners.calls.map((c) => c.texts[0]), ['busy', 'patient']);
});

test('an aborted request is removed from the queue and never runs', async () => {
  const t = engineSetup({ config: { max_batch_size: 1, max_delay_ms: 0 } });
  t.runners.hold();
  const running = t.infer('org/a', ['busy']);
  await settle();
  const controller = new AbortController();
  const gone = codeOf(t.infer('org/a', ['gone'], { signal: controller.signal, priority: 'high' }));
  await settle();
  assert.equal(t.engine.queueDepth().high_priority, 1);
  controller.abort();
  assert.equal(await gone, 'CANCELLED');
  assert.equal(t.engine.queueDepth().high_priority, 0);
  t.runners.letGo();
  await running;
  assert.deepEqual(t.runners.calls.map((c) => c.texts[0]), ['busy']);
});

test('unknown model: MODEL_NOT_FOUND, nothing loaded', async () => {
  const t = engineSetup();
  assert.equal(await codeOf(t.infer('org/nope', ['x'])), 'MODEL_NOT_FOUND');
  assert.deepEqual(t.runners.loads, []);
  assert.deepEqual(t.engine.models(), []);
});

test('drain: in-flight finishes, new requests get SERVICE_UNAVAILABLE, runners stop', async () => {
  const t = engineSetup({ config: { max_batch_size: 1, max_delay_ms: 0 } });
  t.runners.hold();
  const inFlight = t.infer('org/a', ['in flight']);
  await settle();
  const queued = t.infer('org/a', ['queued']);
  await settle();
  let drained = false;
  const draining = t.engine.drain(30_000).then(() => void (drained = true));
  assert.equal(await codeOf(t.infer('org/a', ['new'])), 'SERVICE_UNAVAILABLE');
  assert.equal(await codeOf(t.engine.load('org/a')), 'SERVICE_UNAVAILABLE');
  await settle();
  assert.equal(drained, false, 'drain waits for in-flight work');
  t.runners.letGo();
  assert.deepEqual((await inFlight).outputs, [embed('in flight')]);
  assert.deepEqual((await queued).outputs, [embed('queued')]);
  await draining;
  assert.deepEqual(t.runners.stops, ['org/a']);
  assert.deepEqual(t.engine.models(), []);
});

test('drain timeout: what still waits fails with SERVICE_UNAVAILABLE and runners stop', async () => {
  const t = engineSetup({ config: { max_batch_size: 1, max_delay_ms: 0 } });
  t.runners.hold();
  const inFlight = codeOf(t.infer('org/a', ['stuck']));
  await settle();
  const queued = codeOf(t.infer('org/a', ['never']));
  await settle();
  const draining = t.engine.drain(5000);
  await t.clock.advance(5000);
  await draining;
  assert.equal(await queued, 'SERVICE_UNAVAILABLE');
  assert.equal(await inFlight, 'SERVICE_UNAVAILABLE');
  assert.deepEqual(t.runners.stops, ['org/a']);
  assert.deepEqual(t.runners.calls.map((c) => c.texts[0]), ['stuck']);
});

test('infer passes the runner progress of its own items to options.onProgress', async () => {
  const t = engineSetup();
  t.runners.emitProgress = true;
  const mine: unknown[] = [];
  const other: unknown[] = [];
  const a = t.infer('org/a', ['once upon', 'a time'], { onProgress: (e) => mine.push(e) });
  const b = t.infer('org/a', ['other words'], { onProgress: (e) => other.push(e) });
  await t.clock.advance(2);
  await Promise.all([a, b]);
  assert.equal(t.runners.calls.length, 1, 'both requests shared one runner call');
  assert.deepEqual(mine, [
    { itemIndex: 0, token: 'once', progress: 50 },
    { itemIndex: 0, token: ' upon', progress: 100 },
    { itemIndex: 1, token: 'a', progress: 50 },
    { itemIndex: 1, token: ' time', progress: 100 },
  ]);
  assert.deepEqual(other, [{ itemIndex: 0, token: 'other', progress: 50 }, { itemIndex: 0, token: ' words', progress: 100 }]);
});
