/**
 * Requests per second of one text embedding on the demo model (models/glove-demo) through a
 * real daemon: REST (undici, 64 connections), gRPC unary (one channel, HTTP/2), each with 64
 * calls in flight, and InferStream (one stream, 64 requests in flight).
 * Run: npx tsc -p . && node dist/bench/grpc-load.js [seconds=10] [rounds=2] [concurrency=64]
 * Client and daemon share the machine's cores, so requests/s depend on whatever else runs; the
 * daemon's CPU time per request (from /proc, user + system) is the steadier number to compare.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { DEMO_MODEL, startDaemon } from '../test/support/daemon-process.js';
import { grpc, grpcClients, type Msg } from '../test/support/grpc-client.js';

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 2);
const concurrency = Number(process.argv[4] ?? 64);
const MODEL = 'modelmora/glove-demo';
const TEXTS = [
  'stock markets fell sharply on monday',
  'a kitten sleeps on the sofa',
  'the river flooded the old town',
  'new phones sell well this year',
  'rain is expected over the weekend',
  'the team won the final match',
  'prices of bread and milk went up',
  'a quiet night in the mountains',
];

interface Row {
  what: string;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** CPU time the daemon process (REST or gRPC skin, queue, batcher) spent per request. */
  daemon_cpu_us: number;
  /** CPU time the runner process (the model) spent per request. */
  runner_cpu_us: number;
  /** CPU time this client process spent per request (undici or grpc-js client side). */
  client_cpu_us: number;
}

const daemon = await startDaemon({ models: [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL, preload: true }], server: { log_level: 'warn' } });
const clients = grpcClients(daemon.grpcPort!);
const pool = new Pool(daemon.url, { connections: concurrency, pipelining: 1 });
const rows: Row[] = [];
let runners: number[] = [];

/** utime + stime of a process, in microseconds (clock ticks of 10 ms). */
async function cpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
const cpu = async () => {
  const own = process.cpuUsage();
  return { daemon: await cpuUs(daemon.pid), runner: (await Promise.all(runners.map(cpuUs))).reduce((a, b) => a + b, 0), client: own.user + own.system };
};
let cpuAtStart = { daemon: 0, runner: 0, client: 0 };

/** `concurrency` loops each calling `one` back to back until the time is up. */
async function closedLoop(what: string, one: (text: string) => Promise<void>): Promise<void> {
  const latencies: number[] = [];
  cpuAtStart = await cpu();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await one(TEXTS[n++ % TEXTS.length]!);
        latencies.push(performance.now() - t);
      }
    }),
  );
  await record(what, latencies, performance.now() - started);
}

async function record(what: string, latencies: number[], ms: number): Promise<void> {
  const used = await cpu();
  const n = latencies.length;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(n - 1, Math.floor(q * n))] ?? 0) * 10) / 10;
  rows.push({
    what,
    requests: n,
    rps: Math.round(n / (ms / 1000)),
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    daemon_cpu_us: Math.round((used.daemon - cpuAtStart.daemon) / n),
    runner_cpu_us: Math.round((used.runner - cpuAtStart.runner) / n),
    client_cpu_us: Math.round((used.client - cpuAtStart.client) / n),
  });
}

const restOne = async (text: string) => {
  const res = await pool.request({
    path: `/api/v1/infer/${encodeURIComponent(MODEL)}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_data: { text } }),
  });
  const body = (await res.body.json()) as { output_data?: { embedding?: number[] } };
  if (res.statusCode !== 200 || body.output_data?.embedding?.length !== 100) throw new Error(`REST answered ${res.statusCode}`);
};

const infer = clients.inference as unknown as { Infer(req: Msg, cb: (err: grpc.ServiceError | null, res: Msg) => void): void };
const grpcOne = (text: string) =>
  new Promise<void>((resolve, reject) =>
    infer.Infer({ model_id: MODEL, input_data: { text } }, (err, res) => {
      const values = (res?.['output_data'] as { embedding?: { values: number[] } } | undefined)?.embedding?.values;
      if (err || values?.length !== 100) reject(err ?? new Error('no embedding'));
      else resolve();
    }),
  );

/** One InferStream, `concurrency` requests in flight, for the same time; answers counted as they come. */
async function streamRun(): Promise<void> {
  const call = (clients.inference as unknown as { InferStream(): grpc.ClientDuplexStream<Msg, Msg> }).InferStream();
  const sentAt: number[] = [];
  const latencies: number[] = [];
  cpuAtStart = await cpu();
  const end = performance.now() + seconds * 1000;
  let sent = 0;
  let answered = 0;
  const started = performance.now();
  const send = () => {
    while (sent - answered < concurrency && performance.now() < end) {
      sentAt.push(performance.now());
      call.write({ model_id: MODEL, input_data: { text: TEXTS[sent++ % TEXTS.length] } });
    }
    if (performance.now() >= end && sent === answered) call.end();
  };
  await new Promise<void>((resolve, reject) => {
    // No request_id: the stream answers in the order sent, so answer i belongs to request i.
    call.on('data', (answer: Msg) => {
      if (answer['error']) return reject(new Error(JSON.stringify(answer['error'])));
      latencies.push(performance.now() - sentAt[answered++]!);
      send();
    });
    call.on('error', reject);
    call.on('status', () => resolve());
    send();
  });
  await record(`gRPC InferStream, 1 stream, ${concurrency} in flight`, latencies, performance.now() - started);
}

try {
  // Warm up: the runner, the JIT of both skins, the connections.
  for (let i = 0; i < 200; i++) await Promise.all([restOne(TEXTS[i % 8]!), grpcOne(TEXTS[i % 8]!)]);
  runners = await daemon.runnerPids();
  for (let r = 0; r < rounds; r++) {
    await closedLoop(`REST unary (undici, ${concurrency} connections)`, restOne);
    await closedLoop(`gRPC unary (1 channel, ${concurrency} in flight)`, grpcOne);
    await streamRun();
  }
  console.table(rows);
  const mean = (prefix: string) => {
    const hits = rows.filter((r) => r.what.startsWith(prefix));
    return hits.reduce((s, r) => s + r.rps, 0) / hits.length;
  };
  const rest = mean('REST');
  console.log(`requests/s: gRPC unary / REST = ${(mean('gRPC unary') / rest).toFixed(2)}; InferStream / REST = ${(mean('gRPC InferStream') / rest).toFixed(2)}`);
} finally {
  clients.close();
  await pool.close();
  await daemon.stop();
}
