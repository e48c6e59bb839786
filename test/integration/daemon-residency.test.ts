import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO_MODEL, startDaemon, type DaemonModel, type DaemonProcess } from '../support/daemon-process.js';
import { call, modelState, scrape, SLOW_INPUT_FLAGS, slowInput, status, valueOr0, waitBusy, waitFor, type SystemStatus } from '../support/daemon-http.js';
import { sampleValue } from '../support/prom-parse.js';

// LRU residency under a memory budget, on a real daemon whose runners' RSS is measured: the
// budget is chosen from a runner measured first, so that two models fit and three do not.
// Every model is the demo model's folder under another id.

let daemon: DaemonProcess;
let api: string;
let runnerMb: number;
let budgetMb: number;

const model = (id: string, extra: Partial<DaemonModel> = {}): DaemonModel => ({ id, task: 'txt2embed', source: DEMO_MODEL, ...extra });

before(async () => {
  const probe = await startDaemon({ models: [model('probe')] });
  try {
    const loaded = await call(probe.api, 'POST', '/models/probe/load');
    assert.equal(loaded.status, 200);
    runnerMb = loaded.body['memory_usage_mb'] as number;
    assert.ok(runnerMb > 20, `runner RSS ${runnerMb} MB`);
  } finally {
    await probe.stop();
  }
  budgetMb = Math.round(runnerMb * 2.5);
  daemon = await startDaemon({
    models: [
      model('lru-a'),
      model('lru-b'),
      model('lru-c'),
      model('pinned', { keep_alive: -1 }),
      model('huge', { resources: { memory_mb: budgetMb + 1 } }),
    ],
    args: ['--memory-budget-mb', String(budgetMb), ...SLOW_INPUT_FLAGS],
  });
  api = daemon.api;
});

after(async () => {
  await daemon?.stop();
});

const load = (id: string) => call(api, 'POST', `/models/${id}/load`);
const infer = (id: string, body: unknown = { input_data: { text: `hello ${id}` } }) => call(api, 'POST', `/infer/${id}`, body);

function loadedIds(s: SystemStatus): string[] {
  return s.loaded_models.filter((m) => m.state === 'loaded').map((m) => m.model_id).sort();
}

/** Loaded models as /status lists them, after checking that their measured memory fits the budget. */
async function resident(): Promise<string[]> {
  const s = await status(api);
  assert.equal(s.memory.threshold_mb, budgetMb);
  assert.ok(s.memory.used_mb <= budgetMb, `${s.memory.used_mb} MB used, budget ${budgetMb} MB`);
  return loadedIds(s);
}

async function evictions(): Promise<Record<string, number>> {
  const families = await scrape(api);
  const out: Record<string, number> = {};
  for (const id of ['lru-a', 'lru-b', 'lru-c', 'pinned', 'huge']) out[id] = valueOr0(families, 'modelmora_evictions_total', { model_id: id });
  return out;
}

test('the least recently used idle model is evicted when a third one loads', async () => {
  assert.equal((await load('lru-a')).status, 200);
  assert.equal((await load('lru-b')).status, 200);
  assert.deepEqual(await resident(), ['lru-a', 'lru-b']);
  assert.equal((await infer('lru-a')).status, 200, 'lru-a is now the more recently used');
  assert.equal((await load('lru-c')).status, 200);
  assert.deepEqual(await resident(), ['lru-a', 'lru-c']);
  assert.deepEqual(await evictions(), { 'lru-a': 0, 'lru-b': 1, 'lru-c': 0, pinned: 0, huge: 0 });
  assert.equal((await daemon.runnerPids()).length, 2, 'the evicted runner process is gone');
});

test('a pinned model (keep_alive -1) is never evicted, even when it is the least recently used', async () => {
  for (const id of ['lru-a', 'lru-c']) assert.equal((await call(api, 'POST', `/models/${id}/unload`)).status, 200);
  assert.deepEqual(await resident(), []);
  const pinned = await load('pinned');
  assert.equal(pinned.body['pinned'], true);
  assert.equal((await load('lru-a')).status, 200);
  assert.equal((await infer('lru-a')).status, 200, 'pinned is now the least recently used');
  assert.equal((await infer('lru-b')).status, 200, 'lazy load on first request');
  assert.deepEqual(await resident(), ['lru-b', 'pinned']);
  assert.deepEqual(await evictions(), { 'lru-a': 1, 'lru-b': 1, 'lru-c': 0, pinned: 0, huge: 0 });
});

test('a model with a request in flight is not cut off: the load waits for it, then evicts it', async () => {
  const slow = infer('lru-b', slowInput());
  await waitBusy(api, 'lru-b');
  const loading = load('lru-c');
  // Both at once: lru-c waits for room while lru-b still runs its request.
  await waitFor('lru-c to wait for lru-b', async () => {
    const s = await status(api);
    return modelState(s, 'lru-c')?.state === 'loading' && modelState(s, 'lru-b')?.in_flight === 1 ? true : undefined;
  });
  const done = await slow;
  assert.equal(done.status, 200, done.text);
  assert.equal((done.body['output_data'] as { embeddings: unknown[] }).embeddings.length, 256);
  assert.equal((await loading).status, 200);
  assert.deepEqual(await resident(), ['lru-c', 'pinned']);
  assert.deepEqual(await evictions(), { 'lru-a': 1, 'lru-b': 2, 'lru-c': 0, pinned: 0, huge: 0 });
});

test('a model larger than the whole budget answers 507 INSUFFICIENT_MEMORY and evicts nothing', async () => {
  for (const reply of [await load('huge'), await infer('huge')]) {
    assert.equal(reply.status, 507, reply.text);
    assert.equal(reply.body['error_code'], 'INSUFFICIENT_MEMORY');
    const details = reply.body['details'] as Record<string, number>;
    assert.equal(details['required_mb'], budgetMb + 1);
    assert.equal(details['budget_mb'], budgetMb);
  }
  assert.deepEqual(await resident(), ['lru-c', 'pinned']);
  const families = await scrape(api);
  assert.equal(sampleValue(families, 'modelmora_loaded_models'), 2);
  assert.deepEqual(await evictions(), { 'lru-a': 1, 'lru-b': 2, 'lru-c': 0, pinned: 0, huge: 0 });
  assert.equal(valueOr0(families, 'modelmora_model_memory_bytes', { model_id: 'huge' }), 0);
});
