/**
 * Row 8: LRU residency. Four copies of the demo model served round-robin, one request at a
 * time, by a daemon whose memory budget holds three of them (so, with LRU and a strict round
 * robin, every request evicts the model needed next and loads its own: the worst case) and by
 * one whose budget holds all four. Row 8b: a cold load of the demo model from the cache
 * (POST /models/{id}/load after an unload), p50.
 *
 * Budgets come from R, the RSS of a freshly loaded demo runner (a probe daemon, since the
 * scheduler counts measured RSS once a model is loaded): each copy declares memory_mb = 1.1 R
 * so the pre-load estimate is close, and the budgets are 3.5 and 4.6 times that.
 */
import { benchSentences, inferBody } from '../fixtures/sentences.js';
import type { BenchContext } from '../harness/context.js';
import { DEMO_ID, DEMO_MODEL, startBenchDaemon, timedPost, type BenchDaemon } from '../harness/daemon.js';
import { compareRow, measuredRow, type RowResult } from '../harness/report.js';
import { alternate, formatNumber, summarize } from '../harness/stats.js';

const COPIES = ['bench/demo-a', 'bench/demo-b', 'bench/demo-c', 'bench/demo-d'];

async function roundRobin(daemon: BenchDaemon, requests: number, texts: readonly string[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const r = await timedPost(daemon.inferUrl(COPIES[i % COPIES.length]!), inferBody(texts[i % texts.length]!));
    if (r.status !== 200) throw new Error(`round robin request answered ${r.status}: ${r.text.slice(0, 200)}`);
  }
  return requests / ((performance.now() - started) / 1000);
}

export async function residencyRows(ctx: BenchContext): Promise<RowResult[]> {
  const probe = await startBenchDaemon({ models: [{ id: DEMO_ID, task: 'txt2embed', source: DEMO_MODEL }] });
  let rss: number;
  try {
    await probe.load(DEMO_ID);
    rss = (await probe.status()).loaded_models.find((m) => m.model_id === DEMO_ID)?.memory_usage_mb ?? 0;
  } finally {
    await probe.close();
  }
  if (!(rss > 0)) throw new Error('the probe daemon reports no memory for the demo model');
  const declared = Math.ceil(rss * 1.1);
  // keep_alive -1 would pin them (never evicted); an hour keeps them resident unless evicted.
  const models = COPIES.map((id) => ({ id, task: 'txt2embed', source: DEMO_MODEL, keep_alive: '1h', resources: { memory_mb: declared } }));
  const budget3 = Math.floor(declared * 3.5);
  const budget4 = Math.ceil(declared * 4.6);
  const three = await startBenchDaemon({ models, server: { memory_budget_mb: budget3 } });
  const four = await startBenchDaemon({ models, server: { memory_budget_mb: budget4 } });
  try {
    const texts = benchSentences();
    const requests = COPIES.length * (ctx.quick ? 1 : 2);
    const rr = await alternate(
      { budget3: () => roundRobin(three, requests, texts), budget4: () => roundRobin(four, requests, texts) },
      ctx.rounds,
    );
    const loadedInThree = (await three.status()).loaded_models.filter((m) => m.state === 'loaded').length;
    // If all four fit, the runs measured no eviction and the row would compare two equal setups.
    if (loadedInThree > 3) throw new Error(`the budget for 3 (${budget3} MB) held all 4 copies: runner RSS grew past the probe's ${rss} MB`);

    // 8b: every copy is loaded in `four`; unload one and time its load from the cache.
    const loads: number[] = [];
    const samples = ctx.quick ? 5 : 9;
    for (let i = 0; i < samples + 1; i++) {
      const id = COPIES[i % COPIES.length]!;
      await four.unload(id);
      const started = performance.now();
      await four.load(id);
      const ms = performance.now() - started;
      ctx.log(`  ${i === 0 ? 'warm-up' : `cold load ${i}/${samples}`}: ${formatNumber(ms)} ms`);
      if (i > 0) loads.push(ms);
    }
    const cold = summarize(loads);
    return [
      {
        ...compareRow({
          id: '8',
          what: 'LRU residency costs little',
          target: 'report',
          a: { label: `round robin over 4 demo copies, budget for 3 (${budget3} MB), ${requests} sequential requests`, unit: 'req/s', summary: rr.budget3 },
          b: { label: `the same, budget for 4 (${budget4} MB)`, unit: 'req/s', summary: rr.budget4 },
          check: () => true,
          notes: [
            `Demo runner RSS R = ${rss} MB (fresh runner); each copy declares ${declared} MB. After the runs ${loadedInThree} of 4 copies were loaded under the budget for 3.`,
            'With a budget for 3, LRU and a strict round robin, every request is a miss (each load evicts the model needed next), so A is the cold-load rate; the ratio is the cost of that worst case.',
          ],
        }),
        met: null,
      },
      measuredRow({
        id: '8b',
        what: 'cold load of the demo model from cache',
        a: { label: 'POST /models/{id}/load after an unload, files in cache', unit: 'ms', summary: cold },
        target: 'p50 <= 300 ms',
        met: cold.median <= 300,
        notes: ['The median of the loads is their p50.'],
      }),
    ];
  } finally {
    await three.close();
    await four.close();
  }
}
