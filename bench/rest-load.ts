/**
 * REST load on the demo model (models/glove-demo) through a real daemon and its runner:
 * requests/s and latency at concurrency 1 and 64, with dynamic batching (the defaults) and
 * without (--max-batch-size 1), plus the memory of the daemon and of the runner.
 * Run: npx tsc -p . && node dist/bench/rest-load.js [seconds=10]
 * The load generator (autocannon) runs in this process on the same machine, so on a small box
 * it competes with the daemon for CPU: compare rows with each other, not with other machines.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import autocannon from 'autocannon';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../test/support/daemon-process.js';
import { call, runnerCalls, scrape } from '../test/support/daemon-http.js';
import { sampleValue } from '../test/support/prom-parse.js';

const seconds = Number(process.argv[2] ?? 10);
const MODEL = 'modelmora/glove-demo';
const PATH = `/api/v1/infer/${encodeURIComponent(MODEL)}`;
const SENTENCES = [
  'stock markets fell sharply',
  'shares dropped steeply after the announcement',
  'a kitten sleeps on the sofa',
  'the river flooded the valley after days of rain',
  'the central bank raised interest rates again',
  'she played the piano at the concert last night',
  'investors worry about slowing growth in china',
  'the team won the championship in overtime',
];

interface Row {
  mode: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  meanBatch: number;
  failed: number;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) / 1024;
}

async function load(daemon: DaemonProcess, connections: number, duration: number) {
  return autocannon({
    url: daemon.url,
    connections,
    duration,
    timeout: 30,
    requests: SENTENCES.map((text) => ({
      method: 'POST',
      path: PATH,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input_data: { text } }),
    })),
  });
}

interface Memory {
  idle: number;
  loaded: number;
  runnerLoaded: number;
  daemonAfter: number;
  runnerAfter: number;
}

async function runnerRss(daemon: DaemonProcess): Promise<number> {
  const [runner] = await daemon.runnerPids();
  return runner === undefined ? 0 : rssMb(runner);
}

async function measure(mode: string, args: string[], memory?: Memory): Promise<Row[]> {
  const daemon = await startDaemon({ models: [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL }], args });
  try {
    if (memory) memory.idle = await rssMb(daemon.pid);
    const loaded = await call(daemon.api, 'POST', `/models/${encodeURIComponent(MODEL)}/load`);
    if (loaded.status !== 200) throw new Error(`load answered ${loaded.status}: ${loaded.text}`);
    if (memory) {
      memory.loaded = await rssMb(daemon.pid);
      memory.runnerLoaded = await runnerRss(daemon);
    }
    await load(daemon, 8, 2); // warm-up: JIT of the daemon and the runner, connections
    const rows: Row[] = [];
    for (const connections of [1, 64]) {
      const before = await scrape(daemon.api);
      const result = await load(daemon, connections, seconds);
      const after = await scrape(daemon.api);
      const calls = runnerCalls(after, MODEL) - runnerCalls(before, MODEL);
      const items =
        sampleValue(after, 'modelmora_batch_size_sum', { model_id: MODEL }) - sampleValue(before, 'modelmora_batch_size_sum', { model_id: MODEL });
      rows.push({
        mode,
        connections,
        rps: result.requests.total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        meanBatch: calls > 0 ? items / calls : 0,
        failed: result.errors + result.non2xx,
      });
    }
    if (memory) {
      memory.daemonAfter = await rssMb(daemon.pid);
      memory.runnerAfter = await runnerRss(daemon);
    }
    return rows;
  } finally {
    await daemon.stop();
  }
}

const memory: Memory = { idle: 0, loaded: 0, runnerLoaded: 0, daemonAfter: 0, runnerAfter: 0 };
const rows = [
  ...(await measure('dynamic batching (default: 32, no delay)', [], memory)),
  ...(await measure('no batching (--max-batch-size 1)', ['--max-batch-size', '1'])),
  ...(await measure('batching with a 2 ms delay (--max-delay-ms 2)', ['--max-delay-ms', '2'])),
];

const f = (n: number, digits = 1) => n.toFixed(digits);
console.log(`\nREST load, ${MODEL}, ${seconds} s per row, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => f(l, 2)).join(' ')}\n`);
console.log('| mode | connections | req/s | p50 ms | p99 ms | mean batch | failed |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.mode} | ${r.connections} | ${f(r.rps, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.meanBatch)} | ${r.failed} |`);
const rps = (mode: string, c: number) => rows.find((r) => r.mode.startsWith(mode) && r.connections === c)?.rps ?? NaN;
console.log('\n| connections | batching / no batching (req/s) |');
console.log('|---:|---:|');
for (const c of [1, 64]) console.log(`| ${c} | ${f(rps('dynamic', c) / rps('no batching', c), 2)}x (with a 2 ms delay: ${f(rps('batching with', c) / rps('no batching', c), 2)}x) |`);
console.log('\n| process | RSS MB |');
console.log('|---|---:|');
console.log(`| daemon, idle (no model loaded) | ${f(memory.idle)} |`);
console.log(`| daemon, one model loaded | ${f(memory.loaded)} |`);
console.log(`| daemon, after the load rows | ${f(memory.daemonAfter)} |`);
console.log(`| runner of the demo model, just loaded | ${f(memory.runnerLoaded)} |`);
console.log(`| runner of the demo model, after the load rows | ${f(memory.runnerAfter)} |`);
