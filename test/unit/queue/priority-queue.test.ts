import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PriorityQueue } from '../../../src/queue/priority-queue.js';
import type { Priority } from '../../../src/domain/task-type.js';

function drain<T>(queue: PriorityQueue<T>, now: number): T[] {
  const out: T[] = [];
  for (let v = queue.dequeue(now); v !== undefined; v = queue.dequeue(now)) out.push(v);
  return out;
}

test('strict order between levels, FIFO within a level', () => {
  const queue = new PriorityQueue<string>();
  const order: [string, Priority][] = [
    ['l1', 'low'], ['m1', 'medium'], ['h1', 'high'], ['l2', 'low'], ['h2', 'high'], ['m2', 'medium'],
  ];
  order.forEach(([v, p], i) => queue.enqueue(v, p, i));
  assert.deepEqual(queue.sizes(), { high: 2, medium: 2, low: 2 });
  assert.deepEqual(drain(queue, 10), ['h1', 'h2', 'm1', 'm2', 'l1', 'l2']);
  assert.equal(queue.size, 0);
});

test('bounded: enqueue returns undefined when full, and room comes back after a dequeue', () => {
  const queue = new PriorityQueue<number>({ capacity: 2 });
  assert.ok(queue.enqueue(1, 'low', 0));
  assert.ok(queue.enqueue(2, 'low', 0));
  assert.equal(queue.size, 2);
  assert.equal(queue.enqueue(3, 'high', 0), undefined);
  assert.equal(queue.dequeue(0), 1);
  assert.ok(queue.enqueue(3, 'high', 0));
  assert.deepEqual(drain(queue, 0), [3, 2]);
});

test('remove takes an entry out of the middle of a level; removing twice is a no-op', () => {
  const queue = new PriorityQueue<string>();
  const a = queue.enqueue('a', 'medium', 0)!;
  const b = queue.enqueue('b', 'medium', 1)!;
  const c = queue.enqueue('c', 'medium', 2)!;
  assert.equal(queue.remove(b), true);
  assert.equal(queue.remove(b), false);
  assert.equal(b.queued, false);
  assert.equal(queue.sizes().medium, 2);
  assert.equal(queue.remove(c), true); // the tail
  queue.enqueue('d', 'medium', 3);
  assert.equal(queue.remove(a), true); // the head
  assert.deepEqual(drain(queue, 5), ['d']);
});

test('aging: a low entry moves up one level per agingMs waited and is then served by arrival time', () => {
  const queue = new PriorityQueue<string>({ agingMs: 1000 });
  queue.enqueue('low-old', 'low', 0);
  queue.enqueue('med-new', 'medium', 900);
  queue.enqueue('high-new', 'high', 950);
  // At t=999 nothing has aged: strict order.
  assert.deepEqual([...queue.inOrder(999)].map((e) => e.value), ['high-new', 'med-new', 'low-old']);
  // At t=1000 low-old counts as medium and arrived before med-new.
  assert.deepEqual([...queue.inOrder(1000)].map((e) => e.value), ['high-new', 'low-old', 'med-new']);
  // At t=2000 it counts as high and arrived before high-new; med-new (aged 1100ms) counts as high too.
  assert.deepEqual([...queue.inOrder(2000)].map((e) => e.value), ['low-old', 'med-new', 'high-new']);
  assert.equal(queue.effectiveLevel(queue.peek(2000)!, 2000), 0);
  assert.deepEqual(drain(queue, 2000), ['low-old', 'med-new', 'high-new']);
});

test('aging off (0): low waits behind a steady stream of high', () => {
  const queue = new PriorityQueue<string>({ agingMs: 0 });
  queue.enqueue('low', 'low', 0);
  const served: string[] = [];
  for (let t = 1; t <= 5; t++) {
    queue.enqueue(`h${t}`, 'high', t * 10_000);
    served.push(queue.dequeue(t * 10_000)!);
  }
  assert.deepEqual(served, ['h1', 'h2', 'h3', 'h4', 'h5']);
  assert.equal(queue.sizes().low, 1);
});

test('aging on: low is served within two aging steps despite a steady stream of high', () => {
  const queue = new PriorityQueue<string>({ agingMs: 100 });
  queue.enqueue('low', 'low', 0);
  const served: string[] = [];
  for (let t = 1; t <= 5; t++) {
    queue.enqueue(`h${t}`, 'high', t * 60);
    served.push(queue.dequeue(t * 60)!);
  }
  // At t=240 low has waited 2 steps: it counts as high and arrived first.
  assert.deepEqual(served, ['h1', 'h2', 'h3', 'low', 'h4']);
});

test('inOrder matches successive dequeues and oldestEnqueuedAt spans levels', () => {
  const queue = new PriorityQueue<number>({ agingMs: 50 });
  const prios: Priority[] = ['low', 'high', 'medium', 'low', 'medium', 'high', 'low'];
  prios.forEach((p, i) => queue.enqueue(i, p, i * 20));
  assert.equal(queue.oldestEnqueuedAt(), 0);
  const now = 130;
  const listed = [...queue.inOrder(now)].map((e) => e.value);
  assert.deepEqual(drain(queue, now), listed);
  assert.equal(queue.oldestEnqueuedAt(), undefined);
});
