/**
 * Row 9: memory. A daemon with the demo and MiniLM-cost models registered: its RSS once it has
 * idled for a second (9a); then the demo model's runner RSS minus the model's weights file (9b),
 * and the same for MiniLM-cost (9c). Full mode starts a fresh daemon per run; quick mode reuses
 * one daemon and loads each model 5 times (a fresh runner process each time).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { MINILM_ID, type BenchContext } from '../harness/context.js';
import { DEMO_ID, DEMO_MODEL, rssMb, startBenchDaemon, type BenchDaemon } from '../harness/daemon.js';
import { measuredRow, type RowResult } from '../harness/report.js';
import { formatNumber, sleep, summarize } from '../harness/stats.js';

const weightsMb = (folder: string) => statSync(path.join(folder, 'onnx', 'model.onnx')).size / 2 ** 20;

/** Loads `id` and returns the RSS of the runner it forked. */
async function runnerRss(daemon: BenchDaemon, id: string): Promise<number> {
  const before = new Set(await daemon.runnerPids());
  await daemon.load(id);
  const fresh = (await daemon.runnerPids()).filter((pid) => !before.has(pid));
  if (fresh.length !== 1) throw new Error(`expected one new runner for ${id}, found ${fresh.length}`);
  await sleep(300);
  return rssMb(fresh[0]!);
}

export async function memoryRows(ctx: BenchContext): Promise<RowResult[]> {
  // Memory varies little from run to run; 5 runs (each a fresh daemon in full mode) are enough.
  const runs = 5;
  const idle: number[] = [];
  const demoOverhead: number[] = [];
  const miniOverhead: number[] = [];
  const afterLoads: number[] = [];
  const demoWeights = weightsMb(DEMO_MODEL);
  const miniWeights = weightsMb(ctx.miniLmDir);
  const models = [
    { id: DEMO_ID, task: 'txt2embed', source: DEMO_MODEL, keep_alive: -1 },
    { id: MINILM_ID, task: 'txt2embed', source: ctx.miniLmDir, keep_alive: -1 },
  ];
  const sample = async (daemon: BenchDaemon, label: string) => {
    demoOverhead.push((await runnerRss(daemon, DEMO_ID)) - demoWeights);
    miniOverhead.push((await runnerRss(daemon, MINILM_ID)) - miniWeights);
    afterLoads.push(await rssMb(daemon.pid));
    ctx.log(`  ${label}: daemon idle ${formatNumber(idle.at(-1)!)} MB, runner overhead demo ${formatNumber(demoOverhead.at(-1)!)} MB, MiniLM-cost ${formatNumber(miniOverhead.at(-1)!)} MB`);
  };
  if (ctx.quick) {
    // Quick: one daemon; idle RSS read 5 times 200 ms apart, each runner loaded 5 times.
    const daemon = await startBenchDaemon({ models });
    try {
      await sleep(1000);
      for (let run = 0; run < runs; run++) {
        idle.push(await rssMb(daemon.pid));
        await sleep(200);
      }
      for (let run = 0; run < runs; run++) {
        await sample(daemon, `load ${run + 1}/${runs}`);
        await daemon.unload(DEMO_ID);
        await daemon.unload(MINILM_ID);
      }
    } finally {
      await daemon.close();
    }
  } else {
    // Full: a fresh daemon per run.
    for (let run = 0; run < runs; run++) {
      const daemon = await startBenchDaemon({ models });
      try {
        await sleep(1000);
        idle.push(await rssMb(daemon.pid));
        await sample(daemon, `run ${run + 1}/${runs}`);
      } finally {
        await daemon.close();
      }
    }
  }
  const daemonIdle = summarize(idle);
  const demo = summarize(demoOverhead);
  const mini = summarize(miniOverhead);
  return [
    measuredRow({
      id: '9a',
      what: 'memory: daemon RSS idle',
      a: { label: 'fresh daemon, 2 models registered, none loaded, 1 s after listening', unit: 'MB', summary: daemonIdle },
      target: '<= 150 MB',
      met: daemonIdle.median <= 150,
      notes: [`Daemon RSS after both models loaded (runners are separate processes): median ${formatNumber(summarize(afterLoads).median)} MB.`],
    }),
    measuredRow({
      id: '9b',
      what: 'memory: runner RSS minus model weights (demo)',
      a: { label: `demo model runner RSS − ${formatNumber(demoWeights)} MB weights file`, unit: 'MB', summary: demo },
      target: '<= 80 MB',
      met: demo.median <= 80,
    }),
    measuredRow({
      id: '9c',
      what: 'memory: runner RSS minus model weights (MiniLM-cost)',
      a: { label: `MiniLM-cost runner RSS − ${formatNumber(miniWeights)} MB weights file`, unit: 'MB', summary: mini },
      target: '<= 80 MB',
      met: mini.median <= 80,
      notes: ['Includes whatever onnxruntime holds beside the weights (pre-packed GEMM copies, arenas).'],
    }),
  ];
}
