import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MB } from '../../fixtures/fake-runner-factory.js';
import { engineSetup } from '../../fixtures/engine-setup.js';
import { settle } from '../../fixtures/manual-clock.js';
import { RssHistory } from '../../../src/scheduler/rss-history.js';
import type { ModelServingSpec } from '../../../src/scheduler/serving-spec.js';

// The budget holds against measured RSS, not only against the pre-load estimate: real runners
// cost ~130 MB of runtime whatever their weights (found by the daemon integration tests).

const loadedIds = (t: ReturnType<typeof engineSetup>) =>
  t.engine.models().filter((m) => m.state === 'loaded').map((m) => m.model_id).sort();

/** Three models with 6 MB of weights (estimate 18 MB) whose runners measure 130 MB; budget 300 MB. */
function smallWeights() {
  const small = { declaredMemoryMb: undefined, weightsBytes: 6 * MB };
  const t = engineSetup({ config: { memory_budget_mb: 300, max_delay_ms: 0 }, models: { 'org/a': small, 'org/b': small, 'org/c': small } });
  for (const id of ['org/a', 'org/b', 'org/c']) t.runners.rssFor.set(id, 130 * MB);
  return t;
}

test('a model never loaded is estimated at least at the lightest measured runner, so the third one evicts first', async () => {
  const t = smallWeights();
  await t.engine.load('org/a');
  await t.clock.advance(1000);
  await t.engine.load('org/b');
  await t.clock.advance(1000);
  await t.infer('org/a', ['a is now more recent']);
  await t.engine.load('org/c');
  assert.deepEqual(t.runners.stops, ['org/b'], 'b was evicted before c loaded');
  assert.deepEqual(loadedIds(t), ['org/a', 'org/c']);
  assert.equal(t.engine.memory().used_mb, 260);
});

test('a runner that measures above its estimate evicts idle models until the budget holds', async () => {
  const t = smallWeights();
  t.runners.rssFor.set('org/c', 200 * MB);
  await t.engine.load('org/a');
  await t.clock.advance(1000);
  // c was never measured: a's 130 MB is its estimate, and 130 + 130 fits in 300, so c loads
  // beside a; only its measured 200 MB does not fit (330 > 300), so the idle a goes then.
  await t.engine.load('org/c');
  await settle();
  assert.deepEqual(t.runners.loads, ['org/a', 'org/c']);
  assert.deepEqual(t.runners.stops, ['org/a']);
  assert.deepEqual(loadedIds(t), ['org/c']);
  assert.ok(t.engine.memory().used_mb <= 300);
});

test('a runner that grows past the budget after a batch evicts an idle model, never a pinned one', async () => {
  const t = engineSetup({
    config: { memory_budget_mb: 300, max_delay_ms: 0 },
    models: { 'org/a': {}, 'org/b': {}, 'org/p': { keepAliveMs: -1 } },
  });
  await t.engine.load('org/p');
  await t.engine.load('org/a');
  await t.clock.advance(2000);
  await t.engine.load('org/b');
  assert.deepEqual(loadedIds(t), ['org/a', 'org/b', 'org/p']);
  t.runners.runner('org/b').rss = 150 * MB;
  await t.clock.advance(1000); // RSS is sampled after a batch at most once per rssRefreshMs
  await t.infer('org/b', ['a big batch']);
  await settle();
  assert.deepEqual(t.runners.stops, ['org/a'], 'the idle, unpinned one');
  assert.deepEqual(loadedIds(t), ['org/b', 'org/p']);
  assert.equal(t.engine.memory().used_mb, 250);
});

test('RssHistory: declared or weight estimate, else the model own load RSS, else the lightest runner', () => {
  const spec = (modelId: string, extra: Partial<ModelServingSpec> = {}): ModelServingSpec => ({
    load: { modelId, taskType: 'txt2embed', folder: '/x', config: {} },
    ...extra,
  });
  const history = new RssHistory();
  assert.equal(history.estimate(spec('a', { weightsBytes: 10 * MB })), 30 * MB, 'nothing measured: 3x weights');
  history.record('a', 140 * MB);
  history.record('b', 120 * MB);
  history.record('z', 0);
  assert.equal(history.estimate(spec('a', { weightsBytes: 10 * MB })), 140 * MB, 'its own last load');
  assert.equal(history.estimate(spec('c')), 120 * MB, 'the lightest runner');
  assert.equal(history.estimate(spec('c', { declaredMemoryMb: 4000 })), 4000 * MB, 'a larger declaration wins');
});
