/**
 * Rows 3 and 3b: the demo model is so light (about 0.3 ms a sentence) that HTTP, JSON, the
 * queue and the IPC to the runner dominate. A: ModelMora REST, 64 clients. B3: a fastify route
 * answering a fixed 100-float body. B2-demo: the naive per-request server on the demo model.
 */
import path from 'node:path';
import { benchSentences, inferBody } from '../fixtures/sentences.js';
import { startChild } from '../harness/child.js';
import { DIST_BENCH, type BenchContext } from '../harness/context.js';
import { DEMO_ID, DEMO_MODEL } from '../harness/daemon.js';
import { compareRow, type RowResult } from '../harness/report.js';
import { CpuPerUnit } from '../harness/cpu.js';
import { alternate } from '../harness/stats.js';
import { baselineRestRun, modelMoraRestRun } from '../load/rest-load.js';

export async function overheadRows(ctx: BenchContext): Promise<RowResult[]> {
  const daemon = await ctx.mainDaemon();
  const bodies = benchSentences().map((s) => inferBody(s));
  const fixed = await startChild<{ url: string }>(path.join(DIST_BENCH, 'baselines', 'fixed-server.js'));
  const naive = await startChild<{ url: string }>(path.join(DIST_BENCH, 'baselines', 'naive-server.js'), [DEMO_MODEL]);
  try {
    const load = (url: string) => ({ url, bodies, connections: ctx.connections, seconds: ctx.loadSeconds });
    let aLatency: number[] = [];
    const cpu = new CpuPerUnit();
    const results = await alternate(
      {
        modelmora: async () => {
          const run = await modelMoraRestRun(daemon, DEMO_ID, { bodies, connections: ctx.connections, seconds: ctx.loadSeconds }, cpu);
          aLatency = run.latency;
          return run.reqPerSecond;
        },
        fixed: () => baselineRestRun('fixed', fixed.pid, load(fixed.info.url), cpu),
        naive: () => baselineRestRun('naive', naive.pid, load(naive.info.url), cpu),
      },
      ctx.rounds,
    );
    const a = { label: `ModelMora REST, ${ctx.connections} clients x 1 text, demo model`, unit: 'req/s', summary: results.modelmora };
    return [
      compareRow({
        id: '3',
        what: 'server overhead on a light model',
        target: 'A/B >= 0.4',
        a,
        b: { label: 'fastify route answering a fixed 100-float body', unit: 'req/s', summary: results.fixed },
        check: (r) => r >= 0.4,
        notes: [
          `A's last run: latency p50 ${aLatency[0]} ms, p99 ${aLatency[1]} ms. The load generator (autocannon) shares the 2 cores with the server on both sides.`,
          `CPU per request (median of runs; client = autocannon in the harness): ${cpu.describe()}.`,
        ],
      }),
      compareRow({
        id: '3b',
        what: 'batching pays even on a light model',
        target: 'A/B >= 2',
        a,
        b: { label: 'fastify + pipeline per request, demo model', unit: 'req/s', summary: results.naive },
        check: (r) => r >= 2,
      }),
    ];
  } finally {
    await fixed.stop();
    await naive.stop();
  }
}
