/**
 * Rows 1 and 2: ModelMora REST with 64 clients sending one text each to the MiniLM-cost model,
 * against (1) the same model in-process at its best batch size and (2) a naive fastify server
 * calling the pipeline per request. The three sides alternate; A's runs serve both rows.
 */
import path from 'node:path';
import { benchSentences, inferBody } from '../fixtures/sentences.js';
import { startChild } from '../harness/child.js';
import { DIST_BENCH, MINILM_ID, type BenchContext } from '../harness/context.js';
import { compareRow, type RowResult } from '../harness/report.js';
import { CpuPerUnit, withCpu } from '../harness/cpu.js';
import { alternate, formatNumber, summarize } from '../harness/stats.js';
import { baselineRestRun, modelMoraRestRun } from '../load/rest-load.js';
import { SETTINGS } from '../../src/config/settings.js';

const defaultOf = (key: string) => SETTINGS.find((s) => s.key === key)?.default;

const SWEEP = [1, 2, 4, 8, 16, 32, 64];

export async function batchingRows(ctx: BenchContext): Promise<RowResult[]> {
  const daemon = await ctx.mainDaemon();
  const sentences = benchSentences();
  const bodies = sentences.map((s) => inferBody(s));
  const inProcess = await startChild<{ pid: number }>(path.join(DIST_BENCH, 'baselines', 'in-process.js'), [ctx.miniLmDir]);
  const naive = await startChild<{ url: string }>(path.join(DIST_BENCH, 'baselines', 'naive-server.js'), [ctx.miniLmDir]);
  try {
    // The sweep is B1's warm-up: find the batch size at which the engine alone goes fastest.
    // One short pass picked a size by noise (batch 8 at 486/s, then 350/s over the runs), so the
    // full run sweeps three times, in alternating order, and takes each size's median.
    const passes = ctx.quick ? 1 : 3;
    const sweepSeconds = ctx.quick ? 0.4 : 1;
    const measured = new Map<number, number[]>(SWEEP.map((size) => [size, []]));
    for (let pass = 0; pass < passes; pass++) {
      for (const batchSize of pass % 2 === 0 ? SWEEP : [...SWEEP].reverse()) {
        const { perSecond } = await inProcess.request<{ perSecond: number }>({ cmd: 'throughput', batchSize, seconds: sweepSeconds });
        measured.get(batchSize)!.push(perSecond);
      }
    }
    const sweep = SWEEP.map((batchSize) => ({ batchSize, perSecond: summarize(measured.get(batchSize)!).median }));
    const best = sweep.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    ctx.log(`  B1 sweep (median of ${passes}): ${sweep.map((s) => `${s.batchSize}: ${formatNumber(s.perSecond)}/s`).join(', ')} -> batch ${best.batchSize}`);

    const load = (url: string) => ({ url, bodies, connections: ctx.connections, seconds: ctx.loadSeconds });
    let aLatency: number[] = [];
    const cpu = new CpuPerUnit();
    const results = await alternate(
      {
        modelmora: async () => {
          const run = await modelMoraRestRun(daemon, MINILM_ID, { bodies, connections: ctx.connections, seconds: ctx.loadSeconds }, cpu);
          aLatency = run.latency;
          return run.reqPerSecond;
        },
        inProcess: async () => {
          const { result: r, cpu: spent } = await withCpu({ inProcess: () => [inProcess.pid] }, () =>
            inProcess.request<{ perSecond: number; done: number }>({ cmd: 'throughput', batchSize: best.batchSize, seconds: ctx.loadSeconds }),
          );
          cpu.add('in-process', spent.inProcess, r.done);
          return r.perSecond;
        },
        naive: () => baselineRestRun('naive', naive.pid, load(naive.info.url), cpu),
      },
      ctx.rounds,
    );
    const a = { label: `ModelMora REST, ${ctx.connections} clients x 1 text, MiniLM-cost`, unit: 'sent/s', summary: results.modelmora };
    return [
      compareRow({
        id: '1',
        what: 'dynamic batching reaches the engine’s own limit',
        target: 'A/B >= 0.85',
        a,
        b: { label: `in-process transformers.js, batch ${best.batchSize} (best of ${SWEEP.join('/')})`, unit: 'sent/s', summary: results.inProcess },
        check: (r) => r >= 0.85,
        notes: [
          `B1 sweep (sent/s by batch size, median of ${passes} passes of ${sweepSeconds} s): ${sweep.map((s) => `${s.batchSize}: ${formatNumber(s.perSecond)}`).join(', ')}.`,
          `A's last run: latency p50 ${aLatency[0]} ms, p99 ${aLatency[1]} ms; server defaults max_batch_size ${defaultOf('max_batch_size')}, max_delay_ms ${defaultOf('max_delay_ms')}.`,
          `CPU per sentence (median of runs; client = autocannon in the harness): ${cpu.describe()}.`,
        ],
      }),
      compareRow({
        id: '2',
        what: 'better than the server a user would write',
        target: 'A/B >= 3',
        a,
        b: { label: `fastify + pipeline per request, ${ctx.connections} clients`, unit: 'sent/s', summary: results.naive },
        check: (r) => r >= 3,
      }),
    ];
  } finally {
    await inProcess.stop();
    await naive.stop();
  }
}
