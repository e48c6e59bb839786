import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InferenceProgress } from '../../../src/domain/engine.js';
import type { RunnerBatch, RunnerProgress } from '../../../src/domain/runner.js';
import { ModelQueue } from '../../../src/queue/model-queue.js';
import { fakeEmbedding, Gate } from '../../fixtures/fake-runner-factory.js';
import { ManualClock, settle } from '../../fixtures/manual-clock.js';

/** A queue whose runner reports, for every batch item, the events `script` returns, then waits on a gate. */
function setup(script: (batch: RunnerBatch) => RunnerProgress[]) {
  const clock = new ManualClock();
  const signals: AbortSignal[] = [];
  const gate = new Gate();
  const queue = new ModelQueue({
    modelId: 'm', maxBatchSize: 8, maxDelayMs: 5, maxQueueSize: 10, agingMs: 0, clock,
    acquire: async () => ({
      run: async (batch, signal, onProgress) => {
        signals.push(signal!);
        for (const event of script(batch)) onProgress?.(event);
        await gate.promise;
        return { outputs: batch.items.map((i) => fakeEmbedding(i, {})), inferenceMs: 1 };
      },
      release: () => undefined,
    }),
  });
  const submit = (texts: string[], extra: { signal?: AbortSignal; onProgress?: (e: InferenceProgress) => void; timeoutMs?: number } = {}) =>
    queue.submit({
      items: texts.map((text) => ({ kind: 'text' as const, text })),
      parameters: {},
      priority: 'medium',
      deadline: clock.now() + (extra.timeoutMs ?? 60_000),
      signal: extra.signal,
      onProgress: extra.onProgress,
    });
  return { clock, queue, signals, gate, submit };
}

test('progress of batch item i reaches the request that owns it, with the index inside that request', async () => {
  // Three requests share one batch of 5 items; every item reports a token naming its text.
  const t = setup((batch) => batch.items.map((item, i) => ({ item: i, token: item.kind === 'text' ? item.text : '?', progress: 50 })));
  const seen: Record<string, InferenceProgress[]> = { a: [], b: [], c: [] };
  const a = t.submit(['a0', 'a1'], { onProgress: (e) => seen.a!.push(e) });
  const b = t.submit(['b0'], { onProgress: (e) => seen.b!.push(e) });
  const c = t.submit(['c0', 'c1']); // no listener: its events go nowhere
  await t.clock.advance(5);
  assert.deepEqual(seen.a, [{ itemIndex: 0, token: 'a0', progress: 50 }, { itemIndex: 1, token: 'a1', progress: 50 }]);
  assert.deepEqual(seen.b, [{ itemIndex: 0, token: 'b0', progress: 50 }]);
  t.gate.open();
  await Promise.all([a, b, c]);
});

test('events for an unknown item and a throwing listener do not break the batch', async () => {
  const t = setup(() => [{ item: 7, token: 'x' }, { item: 0, token: 'ok' }, { item: 1, token: 'ok' }]);
  const got: InferenceProgress[] = [];
  const a = t.submit(['a'], { onProgress: () => { throw new Error('listener broke'); } });
  const b = t.submit(['b'], { onProgress: (e) => got.push(e) });
  await t.clock.advance(5);
  t.gate.open();
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra.outputs.length, 1);
  assert.equal(rb.outputs.length, 1);
  assert.deepEqual(got, [{ itemIndex: 0, token: 'ok' }]);
});

test('the runner signal aborts only once every request of the running batch has gone', async () => {
  const t = setup(() => []);
  const first = new AbortController();
  const second = new AbortController();
  const a = t.submit(['a'], { signal: first.signal }).catch((e: { code: string }) => e.code);
  const b = t.submit(['b'], { signal: second.signal }).catch((e: { code: string }) => e.code);
  await t.clock.advance(5);
  assert.equal(t.signals.length, 1);
  first.abort();
  await settle();
  assert.equal(await a, 'CANCELLED');
  assert.equal(t.signals[0]!.aborted, false, 'b still waits for the batch');
  second.abort();
  assert.equal(await b, 'CANCELLED');
  assert.equal(t.signals[0]!.aborted, true, 'nobody waits: the runner is told to stop');
  t.gate.open();
  await t.queue.whenIdle();
});

test('a request that timed out while running hears no more progress', async () => {
  let report: ((e: RunnerProgress) => void) | undefined;
  const clock = new ManualClock();
  const gate = new Gate();
  const queue = new ModelQueue({
    modelId: 'm', maxBatchSize: 8, maxDelayMs: 0, maxQueueSize: 10, agingMs: 0, clock,
    acquire: async () => ({
      run: async (batch, _signal, onProgress) => {
        report = onProgress;
        await gate.promise;
        return { outputs: batch.items.map((i) => fakeEmbedding(i, {})), inferenceMs: 1 };
      },
      release: () => undefined,
    }),
  });
  const got: InferenceProgress[] = [];
  const r = queue.submit({ items: [{ kind: 'text', text: 'x' }], parameters: {}, priority: 'medium', deadline: clock.now() + 1000, onProgress: (e) => got.push(e) }).catch((e: { code: string }) => e.code);
  await settle();
  report?.({ item: 0, token: 'before' });
  await clock.advance(1000);
  assert.equal(await r, 'INFERENCE_TIMEOUT');
  report?.({ item: 0, token: 'after' });
  assert.deepEqual(got, [{ itemIndex: 0, token: 'before' }]);
  gate.open();
  await queue.whenIdle();
});
