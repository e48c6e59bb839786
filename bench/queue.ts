// Priority queue throughput: enqueue + dequeue over three levels, 1M items, plus an order check.
// Run: npx tsc -p . && node dist/bench/queue.js (npm run bench runs the same functions as row 6).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PriorityQueue } from '../src/queue/priority-queue.js';
import { PRIORITIES, type Priority } from '../src/domain/task-type.js';

const N = 1_000_000;
const RANK: Record<Priority, number> = { high: 0, medium: 1, low: 2 };

// Pre-drawn priorities (a fixed LCG, so every run is the same workload).
const priorities: Priority[] = new Array(N);
let seed = 42;
for (let i = 0; i < N; i++) {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  priorities[i] = PRIORITIES[seed % 3]!;
}

interface Item {
  id: number;
  priority: Priority;
}
const items: Item[] = priorities.map((priority, id) => ({ id, priority }));

export function fillThenDrain(): { opsPerSec: number; ordered: boolean } {
  const queue = new PriorityQueue<Item>({ capacity: N, agingMs: 10_000 });
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) queue.enqueue(items[i]!, items[i]!.priority, 0);
  const out: Item[] = new Array(N);
  for (let i = 0; i < N; i++) out[i] = queue.dequeue(0)!;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  let ordered = queue.size === 0;
  for (let i = 1; i < N && ordered; i++) {
    const a = out[i - 1]!;
    const b = out[i]!;
    const ra = RANK[a.priority];
    const rb = RANK[b.priority];
    if (ra > rb || (ra === rb && a.id > b.id)) ordered = false;
  }
  return { opsPerSec: (2 * N) / seconds, ordered };
}

/** Steady state: the queue holds ~1000 entries, each enqueue is followed by a dequeue. */
export function steady(): { opsPerSec: number; ordered: boolean } {
  const queue = new PriorityQueue<Item>({ capacity: 2048, agingMs: 10_000 });
  const depth = 1000;
  let ops = 0;
  let ordered = true;
  const lastIdPerLevel = [-1, -1, -1];
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    queue.enqueue(items[i]!, items[i]!.priority, 0);
    ops++;
    if (queue.size > depth) {
      const item = queue.dequeue(0)!;
      ops++;
      const rank = RANK[item.priority];
      if (item.id < lastIdPerLevel[rank]!) ordered = false; // FIFO within a level
      lastIdPerLevel[rank] = item.id;
    }
  }
  while (queue.size > 0) {
    queue.dequeue(0);
    ops++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSec: ops / seconds, ordered };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  fillThenDrain(); // warm-up
  const a = fillThenDrain();
  const b = steady();
  const fmt = (n: number) => `${(n / 1e6).toFixed(1)}M ops/s`;
  console.log(`fill 1M then drain (3 levels): ${fmt(a.opsPerSec)}  order ${a.ordered ? 'ok' : 'WRONG'}`);
  console.log(`steady state depth 1000, 1M enqueue+dequeue: ${fmt(b.opsPerSec)}  FIFO-per-level ${b.ordered ? 'ok' : 'WRONG'}`);
  if (!a.ordered || !b.ordered) process.exitCode = 1;
}
