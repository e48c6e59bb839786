import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunnerHandle } from '../../../src/domain/runner.js';
import { Resident, type ResidentState } from '../../../src/scheduler/resident.js';
import type { ModelServingSpec } from '../../../src/scheduler/serving-spec.js';

const SPEC: ModelServingSpec = { load: { modelId: 'org/a', taskType: 'txt2embed', folder: '/models/a', config: {} } };
const BACKOFF = { initialMs: 500, maxMs: 4000 };
const handle = { modelId: 'org/a', pid: 42 } as unknown as RunnerHandle;

/** A resident brought to `state` through legal transitions only. */
function residentIn(state: ResidentState): Resident {
  const r = new Resident(SPEC, 0);
  r.startLoading(10);
  if (state === 'loaded') r.loadedWith(handle, 1);
  if (state === 'unhealthy') r.failed(1, BACKOFF, 'load failed');
  assert.equal(r.state, state);
  return r;
}

const TRANSITIONS: Record<string, (r: Resident) => void> = {
  startLoading: (r) => r.startLoading(10),
  loadedWith: (r) => r.loadedWith(handle, 2),
  failed: (r) => r.failed(2, BACKOFF, 'runner exited'),
  rest: (r) => r.rest(),
};

// [from, transition, the state it leads to, or 'illegal']
const TABLE: Array<[ResidentState, keyof typeof TRANSITIONS, ResidentState | 'illegal']> = [
  ['loading', 'loadedWith', 'loaded'],
  ['loading', 'failed', 'unhealthy'],
  ['loading', 'startLoading', 'loading'],
  ['loading', 'rest', 'illegal'], // a first load that could not start is forgotten, not rested
  ['loaded', 'failed', 'unhealthy'],
  ['loaded', 'startLoading', 'illegal'],
  ['loaded', 'loadedWith', 'illegal'],
  ['loaded', 'rest', 'illegal'],
  ['unhealthy', 'startLoading', 'loading'],
  ['unhealthy', 'loadedWith', 'illegal'],
  ['unhealthy', 'failed', 'illegal'],
  ['unhealthy', 'rest', 'illegal'],
];

for (const [from, transition, to] of TABLE) {
  test(`${from} --${transition}--> ${to}`, () => {
    const r = residentIn(from);
    if (to === 'illegal') {
      assert.throws(() => TRANSITIONS[transition]!(r), /Resident org\/a/);
      assert.equal(r.state, from, 'an illegal transition changes nothing');
    } else {
      TRANSITIONS[transition]!(r);
      assert.equal(r.state, to);
    }
  });
}

test('a restart that could not start rests unhealthy; failures back off and a success resets them', () => {
  const r = residentIn('unhealthy');
  assert.deepEqual([r.failures, r.retryAt, r.bytes], [1, 501, 0]);
  r.startLoading(10);
  r.rest();
  assert.deepEqual([r.state, r.bytes, r.failures], ['unhealthy', 0, 1]);
  r.startLoading(10);
  r.failed(1000, BACKOFF, 'again');
  assert.deepEqual([r.failures, r.retryAt, r.lastError], [2, 2000, 'again']);
  r.startLoading(10);
  r.loadedWith(handle, 2000);
  r.succeeded(2001);
  assert.deepEqual([r.failures, r.lastError, r.handle?.pid], [0, undefined, 42]);
});

test('unload and stop are flags on any state: the first reason is kept, a second stop is refused', () => {
  const r = residentIn('loaded');
  r.beginUnload('memory');
  r.beginUnload('unload');
  assert.deepEqual([r.unloading, r.unloadReason, r.stopping], [true, 'memory', false]);
  assert.equal(r.beginStop('drain'), true);
  assert.equal(r.beginStop('drain'), false);
  assert.deepEqual([r.stopping, r.unloadReason], [true, 'memory']);
});
