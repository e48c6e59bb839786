// OCR demo model (PaddleOCR v4) through a real runner: load time, then time per 640x160 image
// ("Hello Model Serving 2024", DejaVu Sans 40 px) at batch 1 (median of 20 after 3 warm-ups),
// and images per second at batches 4 and 8.
// Run: npx tsc -p . && node dist/scripts/build-ocr-model.js && node dist/bench/ocr.js
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createRunnerFactory } from '../src/runtime/runner-client.js';

const FOLDER = fileURLToPath(new URL('../../models/paddleocr-v4', import.meta.url));
const TEXT = 'Hello Model Serving 2024';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="160"><rect width="100%" height="100%" fill="white"/><text x="30" y="95" font-family="DejaVu Sans" font-size="40" fill="black">${TEXT}</text></svg>`;
const image = new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());

const loadStart = performance.now();
const runner = await createRunnerFactory()({ modelId: 'modelmora/paddleocr-v4', taskType: 'img2txt', folder: FOLDER, config: {} });
const loadMs = performance.now() - loadStart;

async function once(batch: number): Promise<{ wallMs: number; runnerMs: number }> {
  const start = performance.now();
  const result = await runner.run({ items: Array.from({ length: batch }, () => ({ kind: 'image', image })), parameters: {} });
  const wallMs = performance.now() - start;
  for (const output of result.outputs) {
    if (output.kind !== 'text' || output.text !== TEXT) throw new Error(`misread: ${JSON.stringify(output)}`);
  }
  return { wallMs, runnerMs: result.inferenceMs };
}

try {
  for (let i = 0; i < 3; i++) await once(1);
  const runs: { wallMs: number; runnerMs: number }[] = [];
  for (let i = 0; i < 20; i++) runs.push(await once(1));
  console.log(`load (fork, det + rec sessions, warm-up check): ${loadMs.toFixed(0)} ms`);
  console.log(
    `batch 1, 640x160: median ${median(runs.map((r) => r.wallMs)).toFixed(1)} ms round trip, ${median(runs.map((r) => r.runnerMs)).toFixed(1)} ms in the runner` +
      ` (min ${Math.min(...runs.map((r) => r.wallMs)).toFixed(1)}, max ${Math.max(...runs.map((r) => r.wallMs)).toFixed(1)})`,
  );
  for (const batch of [4, 8]) {
    await once(batch);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push((await once(batch)).wallMs);
    console.log(`batch ${batch}: median ${median(times).toFixed(1)} ms, ${((batch * 1000) / median(times)).toFixed(1)} images/s`);
  }
} finally {
  await runner.stop();
}
