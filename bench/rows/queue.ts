/**
 * Row 6: the priority queue alone (bench/queue.ts): enqueue + dequeue of 1M items over three
 * levels, and the order check of a mixed steady-state run.
 */
import type { BenchContext } from '../harness/context.js';
import { measuredRow, type RowResult } from '../harness/report.js';
import { alternate, formatNumber } from '../harness/stats.js';

export async function queueRows(ctx: BenchContext): Promise<RowResult[]> {
  const { fillThenDrain, steady } = await import('../queue.js');
  let ordered = true;
  const results = await alternate(
    {
      fillThenDrain: async () => {
        const r = fillThenDrain();
        ordered &&= r.ordered;
        return r.opsPerSec / 1e6;
      },
    },
    ctx.rounds,
  );
  const mixed = steady();
  const a = results.fillThenDrain;
  const correct = ordered && mixed.ordered;
  return [
    measuredRow({
      id: '6',
      what: 'the priority queue is never the bottleneck',
      a: { label: 'enqueue+dequeue, 3 levels, 1M items (fill then drain)', unit: 'M ops/s', summary: a },
      target: '>= 5M ops/s, order correct in 100% of a mixed run',
      met: a.median >= 5 && correct,
      notes: [
        `Order: fill-then-drain runs ${ordered ? 'all in priority-then-FIFO order' : 'OUT OF ORDER'}; mixed steady-state run (depth 1000, 1M enqueue+dequeue) ${mixed.ordered ? 'FIFO within every level' : 'OUT OF ORDER'} at ${formatNumber(mixed.opsPerSec / 1e6)}M ops/s.`,
      ],
    }),
  ];
}
