import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planEviction, type EvictionPlan, type ResidentModel } from '../../../src/scheduler/eviction-policy.js';

const NOW = 1_000_000;
const S = 1000; // one second, in ms

/** m('a', 100, 30) = model a, 100 bytes, last used 30 s ago, idle, unpinned. */
function m(id: string, bytes: number, idleSeconds: number, flags: Partial<ResidentModel> = {}): ResidentModel {
  return { id, bytes, lastUsedAt: NOW - idleSeconds * S, pinned: false, inFlight: 0, loading: false, ...flags };
}

const rows: { name: string; models: ResidentModel[]; budget: number; needed: number; want: EvictionPlan | 'does-not-fit' }[] = [
  { name: 'fits without eviction', models: [m('a', 100, 10)], budget: 300, needed: 200, want: { evict: [], drain: [] } },
  { name: 'empty and fits exactly', models: [], budget: 100, needed: 100, want: { evict: [], drain: [] } },
  { name: 'needs more than the whole budget', models: [], budget: 100, needed: 101, want: 'does-not-fit' },
  { name: 'equal sizes: least recently used goes', models: [m('a', 100, 5), m('b', 100, 50), m('c', 100, 20)], budget: 300, needed: 100, want: { evict: ['b'], drain: [] } },
  { name: 'equal sizes, need two: the two oldest', models: [m('a', 100, 5), m('b', 100, 50), m('c', 100, 20)], budget: 300, needed: 200, want: { evict: ['b', 'c'], drain: [] } },
  { name: 'pinned is never evicted even if oldest', models: [m('p', 100, 999, { pinned: true }), m('a', 100, 1)], budget: 200, needed: 100, want: { evict: ['a'], drain: [] } },
  { name: 'only pinned: does not fit', models: [m('p', 100, 999, { pinned: true })], budget: 150, needed: 100, want: 'does-not-fit' },
  { name: 'a loading model is not a candidate', models: [m('l', 100, 999, { loading: true }), m('a', 100, 1)], budget: 200, needed: 100, want: { evict: ['a'], drain: [] } },
  {
    name: 'size-weighted: one big idle model before several small recent ones',
    models: [m('big', 800, 10), m('s1', 100, 30), m('s2', 100, 25), m('s3', 100, 20)],
    budget: 1100, needed: 300, want: { evict: ['big'], drain: [] },
  },
  {
    name: 'size-weighted: a very old small model still goes before a just-used big one',
    models: [m('big', 400, 1), m('old', 100, 3600)],
    budget: 500, needed: 100, want: { evict: ['old'], drain: [] },
  },
  {
    name: 'unneeded greedy picks are spared',
    models: [m('s', 10, 1000), m('big', 500, 3)],
    budget: 510, needed: 400, want: { evict: ['big'], drain: [] },
  },
  {
    name: 'in-flight is not evicted while an idle one can make room',
    models: [m('busy', 100, 999, { inFlight: 1 }), m('idle', 100, 1)],
    budget: 200, needed: 100, want: { evict: ['idle'], drain: [] },
  },
  {
    name: 'in-flight only: drained (unloaded when released), not cut off',
    models: [m('busy', 100, 5, { inFlight: 2 }), m('p', 100, 50, { pinned: true })],
    budget: 200, needed: 100, want: { evict: [], drain: ['busy'] },
  },
  {
    name: 'idle and busy together when idle alone is short',
    models: [m('idle', 100, 1), m('busy', 200, 5, { inFlight: 1 })],
    budget: 300, needed: 250, want: { evict: ['idle'], drain: ['busy'] },
  },
  {
    name: 'ties on score: older first, then bigger, then id',
    models: [m('b', 100, 0), m('a', 100, 0), m('c', 200, 0)],
    budget: 400, needed: 100, want: { evict: ['c'], drain: [] },
  },
  { name: 'candidates not enough in total', models: [m('a', 100, 10), m('b', 100, 10, { pinned: true })], budget: 250, needed: 200, want: 'does-not-fit' },
];

for (const row of rows) {
  test(`eviction policy: ${row.name}`, () => {
    const before = JSON.stringify(row.models);
    assert.deepEqual(planEviction(row.models, row.budget, row.needed, NOW), row.want);
    assert.equal(JSON.stringify(row.models), before, 'the input is not mutated');
  });
}
