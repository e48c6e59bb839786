// Where a txt2embed runner's memory goes. Default: real runners forked the daemon's way (a warm
// spare each time), RSS minus the weights file 300 ms after `loaded` (what bench row 9 reads) and
// after 10 batches of 32 texts, median of 5, for the demo and MiniLM-cost models.
// `--steps <folder>`: one process loading step by step (node, onnxruntime, a bare session = the
// floor any onnxruntime-node runner pays, the tokenizer, the handler, batches), run under the
// runner's own flags and malloc settings.
// Run: npx tsc -p . && node dist/bench/runner-memory.js [--steps models/glove-demo]
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { createRunnerFactory } from '../src/runtime/runner-client.js';
import { RUNNER_NODE_FLAGS } from '../src/runtime/spare-runner.js';
import { releaseHeapMemory } from '../src/runtime/heap-release.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODELS = { demo: path.join(ROOT, 'models/glove-demo'), 'minilm-cost': path.join(ROOT, 'bench/models/minilm-cost') };
const TEXTS = Array.from({ length: 32 }, (_, i) => ({ kind: 'text' as const, text: `sentence ${i} about the quick brown fox that jumps over the lazy dog` }));
const mb = (kb: number) => (kb / 1024).toFixed(1);
const weightsMb = (folder: string) => statSync(path.join(folder, 'onnx', 'model.onnx')).size / 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function status(pid: number | 'self'): Record<'VmRSS' | 'RssAnon' | 'RssFile', number> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { VmRSS: kb('VmRSS'), RssAnon: kb('RssAnon'), RssFile: kb('RssFile') };
}

async function runners(): Promise<void> {
  const factory = createRunnerFactory({ spares: 1 });
  try {
    for (const [name, folder] of Object.entries(MODELS)) {
      const weights = weightsMb(folder);
      const loaded: number[] = [];
      const used: number[] = [];
      for (let run = 0; run < 5; run++) {
        await sleep(1000); // the spare boots
        const handle = await factory({ modelId: name, folder, taskType: 'txt2embed', config: {} });
        await sleep(300);
        const s = status(handle.pid!);
        loaded.push(s.VmRSS / 1024 - weights);
        for (let i = 0; i < 10; i++) await handle.run({ items: TEXTS, parameters: {} });
        await sleep(300);
        used.push(status(handle.pid!).VmRSS / 1024 - weights);
        console.log(`${name} run ${run + 1}: RSS ${mb(s.VmRSS)} MB (anon ${mb(s.RssAnon)}, file ${mb(s.RssFile)}), minus ${weights.toFixed(1)} MB weights: ${loaded.at(-1)!.toFixed(1)} MB; after 10 batches ${used.at(-1)!.toFixed(1)} MB`);
        await handle.stop();
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
      console.log(`${name}: overhead after load ${median(loaded)} MB, after batches ${median(used)} MB (medians of 5)`);
    }
  } finally {
    await factory.close();
  }
}

async function steps(folder: string): Promise<void> {
  const line = (label: string) => {
    const s = status('self');
    const heap = v8.getHeapStatistics();
    console.log(`${label.padEnd(26)} RSS ${mb(s.VmRSS).padStart(6)} MB  anon ${mb(s.RssAnon).padStart(6)}  file ${mb(s.RssFile).padStart(5)}  JS heap ${(heap.total_physical_size / 2 ** 20).toFixed(1)}`);
  };
  line('node');
  const ort = await import('onnxruntime-node');
  line('+ import onnxruntime-node');
  const file = path.join(folder, 'onnx', 'model.onnx');
  const bare = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
  line('+ bare session (the floor)');
  await bare.release();
  const { TextTokenizer } = await import('../src/runtime/tasks/text-tokenizer.js');
  await TextTokenizer.load(folder);
  await releaseHeapMemory();
  await sleep(300);
  line('+ a tokenizer, GC');
  const { loadTxt2Embed } = await import('../src/runtime/tasks/txt2embed.js');
  const handler = await loadTxt2Embed({ modelId: 'm', folder, taskType: 'txt2embed', config: {} });
  await releaseHeapMemory();
  await sleep(300);
  line('+ txt2embed handler, GC');
  const context = { signal: new AbortController().signal, progress: () => undefined };
  for (let i = 0; i < 10; i++) await handler.run({ items: TEXTS, parameters: {} }, context);
  await sleep(300);
  line('+ 10 batches of 32');
  console.log(`weights file: ${weightsMb(folder).toFixed(1)} MB`);
}

const at = process.argv.indexOf('--steps');
if (at < 0) {
  await runners();
} else if (process.argv.includes('--child')) {
  await steps(path.resolve(process.argv[at + 1] ?? MODELS.demo));
} else {
  // A child with the runner's flags and malloc setting (see spare-runner.ts), so the steps add up
  // to what a runner holds.
  const args = [...RUNNER_NODE_FLAGS, fileURLToPath(import.meta.url), '--steps', path.resolve(process.argv[at + 1] ?? MODELS.demo), '--child'];
  spawnSync(process.execPath, args, { stdio: 'inherit', env: { MALLOC_MMAP_THRESHOLD_: String(512 * 1024), ...process.env } });
}
