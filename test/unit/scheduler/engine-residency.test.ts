import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gate, MB } from '../../fixtures/fake-runner-factory.js';
import { codeOf, engineSetup, errorOf } from '../../fixtures/engine-setup.js';
import { settle } from '../../fixtures/manual-clock.js';

const loadedIds = (t: ReturnType<typeof engineSetup>) =>
  t.engine.models().filter((m) => m.state === 'loaded').map((m) => m.model_id).sort();

/** Three 100 MB models and a budget for two (250 MB). */
function threeModels(overrides: Record<string, object> = {}) {
  return engineSetup({
    config: { memory_budget_mb: 250, max_delay_ms: 0 },
    models: { 'org/a': overrides['org/a'] ?? {}, 'org/b': overrides['org/b'] ?? {}, 'org/c': overrides['org/c'] ?? {} },
  });
}

test('single flight: 10 concurrent requests for an unloaded model cause one load', async () => {
  const t = engineSetup();
  t.runners.loadGate = new Gate();
  const pending = Array.from({ length: 10 }, (_, i) => t.infer('org/a', [`r${i}`]));
  await t.clock.advance(2);
  assert.equal(t.engine.models()[0]?.state, 'loading');
  const also = t.engine.load('org/a');
  t.runners.loadGate.open();
  const results = await Promise.all(pending);
  await also;
  assert.deepEqual(t.runners.loads, ['org/a']);
  assert.equal(results.length, 10);
  assert.equal(t.runners.calls.reduce((n, c) => n + c.texts.length, 0), 10);
});

test('memory: used = measured RSS once loaded (not the estimate); load duration reported', async () => {
  const t = engineSetup({ models: { 'org/a': { declaredMemoryMb: undefined, weightsBytes: 90 * MB } } });
  t.runners.rssFor.set('org/a', 123 * MB);
  t.runners.loadGate = new Gate();
  const loading = t.engine.load('org/a');
  await settle();
  assert.equal(t.engine.memory().used_mb, 270, 'estimate while loading: 3x the weights');
  t.runners.loadGate.open();
  const status = await loading;
  assert.equal(status.state, 'loaded');
  assert.equal(status.memory_usage_mb, 123);
  assert.deepEqual(t.engine.memory(), { used_mb: 123, budget_mb: 1000 });
  assert.ok(t.events.some((e) => e[0] === 'modelLoaded' && (e[1] as { bytes: number }).bytes === 123 * MB));
  // RSS is refreshed after batches, at most once per rssRefreshMs.
  t.runners.runner('org/a').rss = 150 * MB;
  await t.clock.advance(1000);
  const r = t.infer('org/a', ['x']);
  await t.clock.advance(2);
  await r;
  await settle();
  assert.equal(t.engine.memory().used_mb, 150);
});

test('LRU: with a budget for two, the least recently used idle model is evicted', async () => {
  const t = threeModels();
  await Promise.all([t.infer('org/a', ['1'])]);
  await t.clock.advance(1000);
  await t.infer('org/b', ['2']);
  await t.clock.advance(1000);
  await t.infer('org/a', ['3']); // a is now more recent than b
  await t.clock.advance(1000);
  await t.infer('org/c', ['4']);
  assert.deepEqual(loadedIds(t), ['org/a', 'org/c']);
  assert.deepEqual(t.runners.stops, ['org/b']);
  const evicted = t.events.filter((e) => e[0] === 'modelUnloaded').map((e) => e[1]);
  const pid = (evicted[0] as { pid?: unknown } | undefined)?.pid;
  assert.equal(typeof pid, 'number', 'the event names the runner it stopped');
  assert.deepEqual(evicted, [{ modelId: 'org/b', pid, bytes: 100 * MB, reason: 'memory' }]);
  assert.ok(t.engine.memory().used_mb <= 250);
});

test('LRU: a pinned model (keep_alive -1) is never evicted, even when least recently used', async () => {
  const t = threeModels({ 'org/a': { keepAliveMs: -1 } });
  await t.infer('org/a', ['1']);
  await t.clock.advance(1000);
  await t.infer('org/b', ['2']);
  await t.clock.advance(1000);
  await t.infer('org/c', ['3']);
  assert.deepEqual(loadedIds(t), ['org/a', 'org/c']);
  assert.equal(t.engine.models().find((m) => m.model_id === 'org/a')?.pinned, true);
  assert.deepEqual(t.runners.stops, ['org/b']);
});

test('LRU: an in-flight model is not cut off; the idle one goes instead', async () => {
  const t = threeModels();
  await t.infer('org/b', ['old']);
  await t.clock.advance(1000);
  t.runners.hold();
  const busy = t.infer('org/a', ['busy']); // a loads and stays in flight
  await settle();
  assert.equal(t.engine.models().find((m) => m.model_id === 'org/a')?.in_flight, 1);
  const c = t.infer('org/c', ['new']);
  await settle();
  assert.deepEqual(t.runners.stops, ['org/b']);
  t.runners.letGo();
  assert.equal((await busy).outputs.length, 1);
  assert.equal((await c).outputs.length, 1);
  assert.deepEqual(loadedIds(t), ['org/a', 'org/c']);
});

test('only busy models can make room: the load waits for them to finish, then they unload', async () => {
  const t = threeModels({ 'org/b': { keepAliveMs: -1 } });
  await t.infer('org/b', ['pinned']);
  t.runners.hold();
  const busy = t.infer('org/a', ['busy']);
  await settle();
  const c = t.infer('org/c', ['waits']);
  await settle();
  assert.deepEqual(t.runners.loads, ['org/b', 'org/a'], 'c does not load while a is busy');
  assert.equal(await codeOf(t.infer('org/a', ['more'])), 'SERVICE_UNAVAILABLE', 'a is marked to unload');
  t.runners.letGo();
  assert.equal((await busy).outputs.length, 1, 'a finishes its work');
  await c;
  assert.deepEqual(t.runners.stops, ['org/a']);
  assert.deepEqual(loadedIds(t), ['org/b', 'org/c']);
});

test('too large even after eviction: INSUFFICIENT_MEMORY (507), no runner started', async () => {
  const t = threeModels({ 'org/c': { declaredMemoryMb: 400 } });
  await t.infer('org/a', ['1']);
  const err = await errorOf(t.infer('org/c', ['x']));
  assert.equal(err.code, 'INSUFFICIENT_MEMORY');
  assert.equal(err.httpStatus, 507);
  assert.equal(err.details?.required_mb, 400);
  assert.equal(err.details?.budget_mb, 250);
  assert.deepEqual(t.runners.loads, ['org/a']);
  assert.deepEqual(t.runners.stops, [], 'nothing was evicted for a load that cannot fit');
  assert.deepEqual(loadedIds(t), ['org/a']);
  assert.equal(await codeOf(t.engine.load('org/c')), 'INSUFFICIENT_MEMORY');
});

test('runner crash mid-request: UNHEALTHY_MODEL, models() unhealthy, next request restarts it after backoff', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 } });
  t.runners.hold();
  const doomed = codeOf(t.infer('org/a', ['doomed']));
  await settle();
  t.runners.runner('org/a').crash();
  assert.equal(await doomed, 'UNHEALTHY_MODEL');
  const [status] = t.engine.models();
  assert.equal(status?.state, 'unhealthy');
  assert.equal(status?.health_status.healthy, false);
  assert.match(status?.health_status.error_message ?? '', /exited unexpectedly \(signal SIGKILL\)/);
  assert.equal(t.engine.memory().used_mb, 0);
  t.runners.letGo();
  const next = t.infer('org/a', ['again']);
  await settle();
  assert.equal(t.runners.loads.length, 1, 'the restart waits for the backoff (500 ms)');
  await t.clock.advance(500);
  assert.equal((await next).outputs.length, 1);
  assert.equal(t.runners.loads.length, 2);
  const [after] = t.engine.models();
  assert.equal(after?.state, 'loaded');
  assert.equal(after?.health_status.healthy, true);
  assert.ok(t.events.some((e) => e[0] === 'runnerDied'));
});

test('a runner that dies as its load ends: the waiting request gets UNHEALTHY_MODEL, not a second load in a loop', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 } });
  t.runners.onRssAsked = (runner) => {
    t.runners.onRssAsked = undefined;
    runner.crash();
  };
  assert.equal(await codeOf(t.infer('org/a', ['first'])), 'UNHEALTHY_MODEL');
  assert.equal(t.runners.loads.length, 1, 'one load: the death is answered, not raced again');
  assert.equal(t.engine.models()[0]?.state, 'unhealthy');
  await t.clock.advance(500);
  assert.equal((await t.infer('org/a', ['next'])).outputs.length, 1, 'the next request restarts it');
});

test('a model evicted as its load ends: the waiting request is told to retry; nothing loads twice', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 } });
  t.runners.onRssAsked = () => {
    t.runners.onRssAsked = undefined;
    void t.engine.unload('org/a').catch(() => undefined);
  };
  assert.equal(await codeOf(t.infer('org/a', ['first'])), 'SERVICE_UNAVAILABLE');
  assert.equal(t.runners.loads.length, 1);
  await settle();
  assert.deepEqual(t.engine.models(), [], 'the unload went through');
});

test('a failed load: MODEL_LOAD_FAILED without the path, unhealthy, backoff doubles, success resets it', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 } });
  t.runners.failNextLoad.add('org/a');
  const first = await errorOf(t.infer('org/a', ['x']));
  assert.equal(first.code, 'MODEL_LOAD_FAILED');
  assert.doesNotMatch(first.message, /secret|\.onnx|\/cache/);
  assert.equal(t.engine.models()[0]?.state, 'unhealthy');
  t.runners.failNextLoad.add('org/a');
  const second = codeOf(t.infer('org/a', ['y']));
  await t.clock.advance(499);
  assert.equal(t.runners.loads.length, 1);
  await t.clock.advance(1);
  assert.equal(await second, 'MODEL_LOAD_FAILED');
  // Second failure: the next try waits 1000 ms; a request whose deadline comes first fails at once.
  const hopeless = await errorOf(t.infer('org/a', ['hopeless'], { timeoutSeconds: 1 }));
  assert.equal(hopeless.code, 'UNHEALTHY_MODEL');
  assert.equal(hopeless.details?.retry_after_seconds, 1);
  assert.equal(t.runners.loads.length, 2);
  const third = t.infer('org/a', ['z'], { timeoutSeconds: 5 });
  await t.clock.advance(999);
  assert.equal(t.runners.loads.length, 2);
  await t.clock.advance(1);
  assert.equal((await third).outputs.length, 1);
  assert.equal(t.engine.models()[0]?.health_status.healthy, true);
});

test('keep_alive 0 unloads right after use; keep_alive 5m unloads after 5 idle minutes', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 }, models: { 'org/zero': { keepAliveMs: 0 }, 'org/five': { keepAliveMs: 300_000 } } });
  await t.infer('org/zero', ['x']);
  await settle();
  assert.deepEqual(t.runners.stops, ['org/zero']);
  assert.deepEqual(t.engine.models(), []);
  await t.infer('org/five', ['x']);
  assert.ok(t.engine.models()[0]?.expires_at);
  await t.clock.advance(299_999);
  assert.deepEqual(loadedIds(t), ['org/five']);
  await t.infer('org/five', ['use resets the timer']);
  await t.clock.advance(299_999);
  assert.deepEqual(loadedIds(t), ['org/five']);
  await t.clock.advance(1);
  assert.deepEqual(loadedIds(t), []);
  assert.deepEqual(t.runners.stops, ['org/zero', 'org/five']);
});

test('unload while serving: in-flight finishes, new requests get SERVICE_UNAVAILABLE until it is gone', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 } });
  assert.equal(await codeOf(t.engine.unload('org/a')), 'MODEL_NOT_LOADED');
  t.runners.hold();
  const inFlight = t.infer('org/a', ['in flight']);
  await settle();
  let gone = false;
  const unloading = t.engine.unload('org/a').then(() => void (gone = true));
  assert.equal(await codeOf(t.infer('org/a', ['new'])), 'SERVICE_UNAVAILABLE');
  assert.equal(gone, false);
  t.runners.letGo();
  assert.equal((await inFlight).outputs.length, 1);
  await unloading;
  assert.deepEqual(t.runners.stops, ['org/a']);
  // Once gone, the next request loads it again.
  assert.equal((await t.infer('org/a', ['later'])).outputs.length, 1);
  assert.equal(t.runners.loads.length, 2);
});

test('drain while a model loads: the load is aborted and waiters get SERVICE_UNAVAILABLE', async () => {
  const t = engineSetup({ config: { max_delay_ms: 0 } });
  t.runners.loadGate = new Gate();
  const waiting = codeOf(t.infer('org/a', ['x']));
  await settle();
  assert.equal(t.engine.models()[0]?.state, 'loading');
  const draining = t.engine.drain(1000);
  await t.clock.advance(1000); // the load is queued work: drain gives it its time first
  await draining;
  assert.equal(await waiting, 'SERVICE_UNAVAILABLE');
  assert.deepEqual(t.engine.models(), []);
  assert.equal(t.runners.runners.length, 0, 'no runner was left behind');
});
