/**
 * Baseline B1: the engine's own limit. The pipeline in this process, no server, called with
 * whole batches back to back. The harness asks it for sentences/s at a batch size for a while.
 *
 *   child of bench/run.ts: argv[2] = model folder
 */
import { serveParent } from '../harness/child.js';
import { benchSentences } from '../fixtures/sentences.js';
import { embed, loadPipeline } from './pipeline.js';

const folder = process.argv[2];
if (!folder) throw new Error('usage: in-process.js <model folder>');
const extractor = await loadPipeline(folder);
const sentences = benchSentences();
let cursor = 0;

async function throughput(batchSize: number, seconds: number): Promise<{ perSecond: number; done: number }> {
  let done = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  // Bounded: at least one batch, at most until the time is up.
  do {
    const batch = Array.from({ length: batchSize }, () => sentences[cursor++ % sentences.length]!);
    await embed(extractor, batch);
    done += batchSize;
  } while (performance.now() < until);
  return { perSecond: done / ((performance.now() - started) / 1000), done };
}

serveParent({ pid: process.pid }, async (message) => {
  if (message.cmd !== 'throughput') throw new Error(`unknown command ${String(message.cmd)}`);
  return throughput(Number(message.batchSize), Number(message.seconds));
});
