// txt2img on the PLUMBING-ONLY fixture (test/fixtures/models/plumbing-sd-tiny) through a real
// runner process: load time, latency at batch 1 and images/s per batch size. The graphs are
// tiny, so this measures the pipeline's own overhead (tokenizer, scheduler loop, IPC, VAE
// decode to RGB, PNG encoding), not a real UNet's cost.
// Run: npx tsc -p . && node dist/bench/txt2img.js [--size 64] [--steps 4] [--rounds 20]
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunnerFactory } from '../src/runtime/runner-client.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/models/plumbing-sd-tiny', import.meta.url));
const { values } = parseArgs({ options: { size: { type: 'string', default: '64' }, steps: { type: 'string', default: '4' }, rounds: { type: 'string', default: '20' } } });
const size = Number(values.size);
const steps = Number(values.steps);
const rounds = Number(values.rounds);

const loadStart = performance.now();
const runner = await createRunnerFactory()({ modelId: 'bench/plumbing-sd-tiny', taskType: 'txt2img', folder: FIXTURE, config: {} });
const loadMs = performance.now() - loadStart;
console.log(`load (fork + 3 onnxruntime sessions + tokenizer): ${loadMs.toFixed(0)} ms`);

const parameters = { width: size, height: size, steps, seed: 1, guidance_scale: 7.5 };
const run = (batch: number) =>
  runner.run({ items: Array.from({ length: batch }, (_, i) => ({ kind: 'text' as const, text: `a photo of a cat ${i}` })), parameters });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (let i = 0; i < 3; i++) await run(1); // warm-up

const latencies: number[] = [];
for (let i = 0; i < rounds; i++) {
  const t = performance.now();
  await run(1);
  latencies.push(performance.now() - t);
}
console.log(`latency batch 1, ${size}x${size}, ${steps} steps, CFG on: median ${median(latencies).toFixed(1)} ms, min ${Math.min(...latencies).toFixed(1)} ms`);

let best = { batch: 0, perSecond: 0 };
for (const batch of [1, 2, 4, 8, 16]) {
  const t = performance.now();
  const n = Math.max(2, Math.round(rounds / batch));
  for (let i = 0; i < n; i++) await run(batch);
  const perSecond = (n * batch) / ((performance.now() - t) / 1000);
  console.log(`batch ${String(batch).padStart(2)}: ${perSecond.toFixed(1)} images/s`);
  if (perSecond > best.perSecond) best = { batch, perSecond };
}
console.log(`best: batch ${best.batch}, ${best.perSecond.toFixed(1)} images/s`);
await runner.stop();
