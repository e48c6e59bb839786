/**
 * Row 7: high-priority latency while low-priority requests saturate the MiniLM-cost model.
 * The high requests are open-loop (one every 20 ms, one text each) so both sides get the same
 * offered load; A sends them while 64 clients flood the same model with low requests, B sends
 * them alone. Each run reports the p99 of its high requests. The flood comes from a child process
 * (bench/load/flood.ts), as it would from other clients, so it does not delay the harness's timing.
 */
import path from 'node:path';
import { benchSentences, inferBody } from '../fixtures/sentences.js';
import { startChild } from '../harness/child.js';
import { DIST_BENCH, MINILM_ID, type BenchContext } from '../harness/context.js';
import { timedPost } from '../harness/daemon.js';
import { compareRow, type RowResult } from '../harness/report.js';
import { alternate, formatNumber, percentileOf, sleep } from '../harness/stats.js';
import type { RestLoadResult } from '../load/rest-load.js';

const HIGH_INTERVAL_MS = 20;

async function highRequests(url: string, seconds: number, texts: readonly string[]): Promise<number[]> {
  const count = Math.round((seconds * 1000) / HIGH_INTERVAL_MS);
  const started = performance.now();
  const calls: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * HIGH_INTERVAL_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    calls.push(
      timedPost(url, inferBody(texts[i % texts.length]!, 'high')).then((r) => {
        if (r.status !== 200) throw new Error(`high request answered ${r.status}: ${r.text.slice(0, 200)}`);
        // Latency from when it was due, so a late send (a busy client) counts against A too.
        return performance.now() - due;
      }),
    );
  }
  return Promise.all(calls);
}

export async function priorityRows(ctx: BenchContext): Promise<RowResult[]> {
  const daemon = await ctx.mainDaemon();
  const url = daemon.inferUrl(MINILM_ID);
  const texts = benchSentences();
  const lowBodies = texts.map((s) => inferBody(s, 'low'));
  const seconds = ctx.quick ? 1.5 : Math.max(2, ctx.loadSeconds);
  let flood: RestLoadResult | undefined;
  let samples = 0;
  const flooder = await startChild<{ pid: number }>(path.join(DIST_BENCH, 'load', 'flood.js'));
  try {
    const results = await alternate(
      {
        underFlood: async () => {
          const flooding = flooder.request<RestLoadResult>({ cmd: 'load', url, bodies: lowBodies, connections: ctx.connections, seconds: seconds + 1 });
          await sleep(400); // let the low requests fill the queue first
          const latencies = await highRequests(url, seconds, texts);
          flood = await flooding;
          samples = latencies.length;
          return percentileOf(latencies, 99);
        },
        alone: async () => percentileOf(await highRequests(url, seconds, texts), 99),
      },
      ctx.rounds,
    );
    return [
      compareRow({
        id: '7',
        what: 'high priority stays fast under low-priority flood',
        target: 'A/B <= 2',
        a: { label: `p99 of high requests (1 per ${HIGH_INTERVAL_MS} ms) while ${ctx.connections} clients flood low, MiniLM-cost`, unit: 'ms', summary: results.underFlood },
        b: { label: 'p99 of the same high requests alone', unit: 'ms', summary: results.alone },
        check: (r) => r <= 2,
        notes: [
          `${samples} high requests per run, timed by the harness; the flood comes from a child process (bench/load/flood.ts). The last flood served ${formatNumber(flood?.perSecond ?? 0)} low req/s (p99 ${flood?.latencyP99Ms ?? '?'} ms, ${flood?.non2xx ?? 0} non-2xx).`,
        ],
      }),
    ];
  } finally {
    await flooder.stop();
  }
}
