import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { RunnerBatch, RunnerBatchResult } from '../../../src/domain/runner.js';
import type { Priority } from '../../../src/domain/task-type.js';
import { ModelQueue, type BatchLimits, type QueuedResult } from '../../../src/queue/model-queue.js';
import { fakeEmbedding, Gate } from '../../fixtures/fake-runner-factory.js';
import { ManualClock, settle } from '../../fixtures/manual-clock.js';

/** A queue over a fake runner that records each call and can be held busy. */
function setup(limits: Partial<BatchLimits> = {}) {
  const clock = new ManualClock();
  const calls: RunnerBatch[] = [];
  let gate: Gate | undefined;
  let acquires = 0;
  let releases = 0;
  const queue = new ModelQueue({
    modelId: 'org/m',
    maxBatchSize: limits.maxBatchSize ?? 4,
    maxDelayMs: limits.maxDelayMs ?? 10,
    maxQueueSize: limits.maxQueueSize ?? 100,
    agingMs: 0,
    clock,
    acquire: async () => {
      acquires++;
      return {
        run: async (batch): Promise<RunnerBatchResult> => {
          calls.push(batch);
          if (gate) await gate.promise;
          return { outputs: batch.items.map((i) => fakeEmbedding(i, batch.parameters)), inferenceMs: 3 };
        },
        release: () => void releases++,
      };
    },
  });
  const texts = (batch: RunnerBatch) => batch.items.map((i) => (i.kind === 'text' ? i.text : '?'));
  const submit = (words: string[], priority: Priority = 'medium', extra: { parameters?: Record<string, unknown>; timeoutMs?: number; signal?: AbortSignal } = {}) =>
    queue.submit({
      items: words.map((text) => ({ kind: 'text' as const, text })),
      parameters: extra.parameters ?? {},
      priority,
      deadline: clock.now() + (extra.timeoutMs ?? 60_000),
      signal: extra.signal,
    });
  return {
    clock, queue, calls, texts, submit,
    hold: () => (gate = new Gate()),
    letGo: () => { const g = gate; gate = undefined; g?.open(); },
    counts: () => ({ acquires, releases }),
  };
}

function outcome(p: Promise<QueuedResult>): Promise<QueuedResult | string> {
  return p.then((r) => r, (e: ModelMoraError) => e.code);
}

test('waits max_delay_ms for more requests, then sends one call; results split per request in order', async () => {
  const t = setup({ maxBatchSize: 8, maxDelayMs: 10 });
  const a = t.submit(['a', 'bb']);
  await t.clock.advance(5);
  const b = t.submit(['ccc']);
  assert.equal(t.calls.length, 0, 'nothing is sent before the delay');
  await t.clock.advance(5);
  assert.equal(t.calls.length, 1);
  assert.deepEqual(t.texts(t.calls[0]!), ['a', 'bb', 'ccc']);
  const [ra, rb] = await Promise.all([a, b]);
  assert.deepEqual(ra.outputs, [fakeEmbedding({ kind: 'text', text: 'a' }, {}), fakeEmbedding({ kind: 'text', text: 'bb' }, {})]);
  assert.deepEqual(rb.outputs, [fakeEmbedding({ kind: 'text', text: 'ccc' }, {})]);
  assert.equal(ra.batchSize, 3);
  assert.equal(ra.queueMs, 10);
  assert.equal(rb.queueMs, 5);
  assert.deepEqual(t.counts(), { acquires: 1, releases: 1 });
});

test('a full batch goes at once, without waiting for the delay', async () => {
  const t = setup({ maxBatchSize: 3, maxDelayMs: 1000 });
  const all = [t.submit(['a']), t.submit(['b', 'c'])];
  await settle();
  assert.equal(t.calls.length, 1);
  assert.equal((await all[1]!).batchSize, 3);
});

test('strict priority and FIFO within a level while the runner is busy', async () => {
  const t = setup({ maxBatchSize: 1, maxDelayMs: 0 });
  t.hold();
  const first = t.submit(['running']);
  await settle();
  const order: [string, Priority][] = [['l1', 'low'], ['m1', 'medium'], ['h1', 'high'], ['l2', 'low'], ['h2', 'high'], ['m2', 'medium']];
  const rest = order.map(([w, p]) => t.submit([w], p));
  assert.deepEqual(t.queue.depth(), { high: 2, medium: 2, low: 2 });
  t.letGo();
  await Promise.all([first, ...rest]);
  assert.deepEqual(t.calls.map((c) => t.texts(c)[0]), ['running', 'h1', 'h2', 'm1', 'm2', 'l1', 'l2']);
});

test('a batch never mixes priority levels: a high request is not padded with low ones', async () => {
  const t = setup({ maxBatchSize: 32, maxDelayMs: 0 });
  t.hold();
  const first = t.submit(['running'], 'low');
  await settle();
  const lows = ['l1', 'l2', 'l3', 'l4'].map((w) => t.submit([w], 'low'));
  const high = t.submit(['h1'], 'high');
  const medium = t.submit(['m1'], 'medium');
  t.letGo();
  await Promise.all([first, high, medium, ...lows]);
  // The high request also keeps lower levels' batches at a sixteenth of max_batch_size for a while.
  assert.deepEqual(t.calls.map((c) => t.texts(c)), [['running'], ['h1'], ['m1'], ['l1', 'l2'], ['l3', 'l4']]);
});

test('lower levels batch short while high-priority requests keep arriving, at a quarter for a minute after', async () => {
  const t = setup({ maxBatchSize: 32, maxDelayMs: 0 });
  await t.submit(['h0'], 'high');
  const lowBatches = async (prefix: string, count: number) => {
    t.hold();
    const busy = t.submit(['running'], 'low');
    await settle();
    const from = t.calls.length; // after the running call
    const lows = Array.from({ length: count }, (_, i) => t.submit([`${prefix}${i + 1}`], 'low'));
    t.letGo();
    await Promise.all([busy, ...lows]);
    return t.calls.slice(from).map((c) => t.texts(c).length);
  };
  assert.deepEqual(await lowBatches('a', 6), [2, 2, 2]);
  await t.clock.advance(1000);
  assert.deepEqual(await lowBatches('b', 12), [8, 4]);
  await t.clock.advance(60_000);
  assert.deepEqual(await lowBatches('c', 12), [12]);
});

test('requests are never split; one larger than max_batch_size runs alone', async () => {
  const t = setup({ maxBatchSize: 4, maxDelayMs: 0 });
  t.hold();
  const first = t.submit(['x']);
  await settle();
  const big = t.submit(['1', '2', '3', '4', '5', '6']);
  const a = t.submit(['a', 'b', 'c']);
  const b = t.submit(['d', 'e']);
  const c = t.submit(['f']);
  t.letGo();
  await Promise.all([first, big, a, b, c]);
  assert.deepEqual(t.calls.map((call) => t.texts(call)), [['x'], ['1', '2', '3', '4', '5', '6'], ['a', 'b', 'c', 'f'], ['d', 'e']]);
});

test('only requests with equal parameters share a call', async () => {
  const t = setup({ maxBatchSize: 8, maxDelayMs: 0 });
  t.hold();
  const first = t.submit(['x']);
  await settle();
  const r = [
    t.submit(['n1'], 'medium', { parameters: { normalize: true, pooling: 'mean' } }),
    t.submit(['raw'], 'medium', { parameters: { normalize: false } }),
    t.submit(['n2'], 'medium', { parameters: { pooling: 'mean', normalize: true } }),
  ];
  t.letGo();
  const [n1, raw] = await Promise.all([r[0]!, r[1]!, r[2]!, first]);
  assert.deepEqual(t.calls.map((call) => t.texts(call)), [['x'], ['n1', 'n2'], ['raw']]);
  assert.deepEqual(t.calls[2]!.parameters, { normalize: false });
  assert.deepEqual(n1.outputs[0], { kind: 'embedding', embedding: [2, 'n'.charCodeAt(0) + '1'.charCodeAt(0), 1] });
  assert.deepEqual(raw.outputs[0], { kind: 'embedding', embedding: [3, 114 + 97 + 119, 0] });
});

test('full queue: RATE_LIMIT_EXCEEDED at once with retry_after_seconds', async () => {
  const t = setup({ maxBatchSize: 1, maxDelayMs: 0, maxQueueSize: 2 });
  t.hold();
  const running = t.submit(['run']);
  await settle();
  const queued = [t.submit(['q1']), t.submit(['q2'])];
  await assert.rejects(t.submit(['q3'], 'high'), (err: ModelMoraError) => {
    assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
    assert.equal(err.httpStatus, 429);
    assert.equal(typeof err.details?.retry_after_seconds, 'number');
    assert.ok((err.details!.retry_after_seconds as number) >= 1);
    return true;
  });
  t.letGo();
  await Promise.all([running, ...queued]);
  assert.equal(t.calls.length, 3);
});

test('a deadline that passes in the queue fails with INFERENCE_TIMEOUT and never reaches the runner', async () => {
  const t = setup({ maxBatchSize: 1, maxDelayMs: 0 });
  t.hold();
  const running = t.submit(['run']);
  await settle();
  const late = outcome(t.submit(['late'], 'high', { timeoutMs: 1000 }));
  const fine = t.submit(['fine'], 'low', { timeoutMs: 60_000 });
  await t.clock.advance(1000);
  assert.equal(await late, 'INFERENCE_TIMEOUT');
  assert.deepEqual(t.queue.depth(), { high: 0, medium: 0, low: 1 });
  t.letGo();
  await Promise.all([running, fine]);
  assert.deepEqual(t.calls.map((c) => t.texts(c)[0]), ['run', 'fine']);
});

test('an aborted request is removed from the queue with CANCELLED and never runs', async () => {
  const t = setup({ maxBatchSize: 1, maxDelayMs: 0 });
  t.hold();
  const running = t.submit(['run']);
  await settle();
  const controller = new AbortController();
  const gone = outcome(t.submit(['gone'], 'high', { signal: controller.signal }));
  const stays = t.submit(['stays']);
  assert.equal(t.queue.depth().high, 1);
  controller.abort();
  assert.equal(await gone, 'CANCELLED');
  assert.equal(t.queue.depth().high, 0);
  t.letGo();
  await Promise.all([running, stays]);
  assert.deepEqual(t.calls.map((c) => t.texts(c)[0]), ['run', 'stays']);
  await assert.rejects(t.submit(['x'], 'low', { signal: AbortSignal.abort() }), { code: 'CANCELLED' });
});

test('a failing runner call fails every request of the batch; the queue carries on', async () => {
  const clock = new ManualClock();
  let n = 0;
  const queue = new ModelQueue({
    modelId: 'm', maxBatchSize: 2, maxDelayMs: 0, maxQueueSize: 10, agingMs: 0, clock,
    acquire: async () => ({
      run: async (batch) => {
        if (n++ === 0) throw new Error('boom at /home/x');
        return { outputs: batch.items.map((i) => fakeEmbedding(i, {})), inferenceMs: 1 };
      },
      release: () => undefined,
    }),
  });
  const req = (text: string) => queue.submit({ items: [{ kind: 'text', text }], parameters: {}, priority: 'medium', deadline: clock.now() + 1000 });
  const a = outcome(req('a'));
  const b = outcome(req('b'));
  await assert.doesNotReject(async () => {
    assert.equal(await a, 'INFERENCE_FAILED');
    assert.equal(await b, 'INFERENCE_FAILED');
  });
  const c = await req('c');
  assert.equal(c.outputs.length, 1);
  assert.equal(queue.idle, true);
});
