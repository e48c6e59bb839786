// Cold load of the demo model from cache through a real daemon: unload, then time
// POST /models/{id}/load; median of 10. Pass `--no-warm` to measure without the spare runner.
// Run: npx tsc -p . && node dist/bench/cold-load.js [--no-warm]
import { DEMO_MODEL, startDaemon } from '../test/support/daemon-process.js';

const ROUNDS = 10;
const MODEL = 'glove-demo';
const warm = !process.argv.includes('--no-warm');

async function post(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST' });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
}

const daemon = await startDaemon({
  models: [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL }],
  ...(warm ? {} : { server: { warm_runner: false } }),
});
try {
  // The first load also copies nothing (local source) but warms the OS file cache.
  await post(`${daemon.api}/models/${MODEL}/load`);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await post(`${daemon.api}/models/${MODEL}/unload`);
    // Give the background spare time to boot, as it would have between real loads.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const start = performance.now();
    await post(`${daemon.api}/models/${MODEL}/load`);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = (times[4]! + times[5]!) / 2;
  console.log(JSON.stringify({ warm_runner: warm, rounds: ROUNDS, median_ms: Math.round(median), min_ms: Math.round(times[0]!), max_ms: Math.round(times[ROUNDS - 1]!) }));
} finally {
  await daemon.stop();
}
