/**
 * Row 4: gRPC unary Infer against REST, 64 clients each, demo model. Both load generators send
 * pre-encoded requests and count answers without decoding them: autocannon for REST, and
 * bench/load/grpc-unary-load.ts (a minimal HTTP/2 client) for gRPC, so neither side's number is the
 * cost of a client library's decoding. Alternating with them, the same generators load a fixed
 * answer over bare grpc-js and over bare fastify (bench/baselines/fixed-grpc.ts, fixed-server.ts):
 * the notes show what the two frameworks alone cost per call, which bounds the row.
 * Row 5: InferStream carrying 3 MB results against a bare grpc-js echo of 3 MB messages.
 *
 * How row 5 gets 3 MB results: the stream sends requests of 32 one-word texts to a bench-built
 * word-lookup embedding model 24,576 floats wide (bench/fixtures/wide-model.ts); each answer is
 * an EmbeddingBatch of 32 x 24,576 float32 = 3 MiB. The model's own work is one table row per
 * text (the runner then L2-normalises it, as for any embedding model), so the row measures
 * the path runner -> IPC -> daemon -> protobuf -> HTTP/2 -> client. Both sides keep 4 messages
 * in flight on one stream. B echoes each 3 MiB message (it also carries 3 MiB upstream, which
 * A does not), and both count 3 MiB per answer received. A's client is the product's own gRPC
 * helper (src/client createGrpcClients), as a user would stream with it: it decodes each answer's
 * packed floats into Float32Arrays. Both sides' clients run in one child process
 * (bench/load/stream-client.ts), apart from the harness's heap, and it and the echo server run
 * with the daemon's heap setting.
 */
import path from 'node:path';
import { benchSentences } from '../fixtures/sentences.js';
import { WIDE_DIMS, WIDE_TEXTS_PER_REQUEST, wideRequestTexts } from '../fixtures/wide-model.js';
import { startChild } from '../harness/child.js';
import { DIST_BENCH, WIDE_ID, type BenchContext } from '../harness/context.js';
import { DEMO_ID } from '../harness/daemon.js';
import { compareRow, pendingRow, type RowResult } from '../harness/report.js';
import { CpuPerUnit, withCpu } from '../harness/cpu.js';
import { alternate, formatNumber, percentileOf } from '../harness/stats.js';
import { HEAP_GROWING_PERCENT } from '../../src/daemon/heap-tuning.js';
import { INFER_PATH, inferCodec, inferMessages, type echoLoad, type inferStreamLoad } from '../load/grpc-load.js';
import { grpcUnaryLoad } from '../load/grpc-unary-load.js';
import { requireClean, restLoad } from '../load/rest-load.js';
import { inferBody } from '../fixtures/sentences.js';

const ROW4 = { id: '4', what: 'gRPC unary is not slower', target: 'A/B >= 1.0' };
const ROW5 = { id: '5', what: 'large payloads stream near the transport’s limit', target: 'A/B >= 0.8 and A >= 320 MB/s' };
const WINDOW = 4;
/** As the bench's own client allows (bench/load/grpc-load.ts); the daemon's default limit is 16 MB. */
const STREAM_MAX_MESSAGE = 64 * 1024 * 1024;

const signedMicros = (us: number) => `${us < 0 ? '−' : '+'}${Math.abs(Math.round(us))} µs`;

export async function grpcRows(ctx: BenchContext): Promise<RowResult[]> {
  const daemon = await ctx.mainDaemon();
  if (daemon.grpcPort === undefined || daemon.grpcPort === 0) {
    const why = 'gRPC is not on main yet: the daemon announces no gRPC port. The client (bench/load/grpc-load.ts) is written against protos/modelmora/v1/inference.proto and runs once it is.';
    return [pendingRow(ROW4.id, ROW4.what, ROW4.target, why), pendingRow(ROW5.id, ROW5.what, ROW5.target, why)];
  }
  const codec = inferCodec();
  // Row 5's echo server and clients get the daemon's heap setting (src/daemon/heap-tuning.ts): with
  // V8's default, 3 MiB messages made each of them run a full GC every few messages, so B would
  // measure V8's heuristics rather than the transport (echo alone: 235 MB/s default, 320 tuned).
  const heap = { execArgv: [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`] };
  const echo = await startChild<{ port: number }>(path.join(DIST_BENCH, 'baselines', 'grpc-echo.js'), [], heap);
  const streamClient = await startChild<{ pid: number }>(path.join(DIST_BENCH, 'load', 'stream-client.js'), [], heap);
  // Row 4's frameworks alone: fixed answers over grpc-js and over fastify, under the same generators.
  const fixedGrpc = await startChild<{ port: number }>(path.join(DIST_BENCH, 'baselines', 'fixed-grpc.js'));
  const fixedRest = await startChild<{ url: string }>(path.join(DIST_BENCH, 'baselines', 'fixed-server.js'));
  try {
    const texts = benchSentences();
    const bodies = texts.map((s) => inferBody(s));
    const cpu = new CpuPerUnit();
    const modelmoraWith = (clientPid: number) => ({ daemon: () => [daemon.pid], runner: () => daemon.runnerPids(), client: () => [clientPid] });
    const modelmora = modelmoraWith(process.pid);
    const grpcLoad = (port: number, modelId: string) =>
      grpcUnaryLoad({
        port,
        path: INFER_PATH,
        messages: inferMessages(codec, modelId, texts),
        concurrency: ctx.connections,
        seconds: ctx.loadSeconds,
        check: (message) => {
          const response = codec.decode(message);
          const length = response.output_data?.embedding?.values.length;
          if (response.error || length !== 100) throw new Error(`gRPC Infer answered ${JSON.stringify(response).slice(0, 200)}`);
        },
      });
    const frameworkCpu = new CpuPerUnit();
    // Cores the daemon process used during each run: near 1, its one event loop (which does nearly
    // all of its work) is the stage that holds the side back.
    const busy = { gRPC: [] as number[], REST: [] as number[] };
    const unary = await alternate(
      {
        grpc: async () => {
          const { result: r, cpu: spent, wallMs } = await withCpu(modelmora, () => grpcLoad(daemon.grpcPort!, DEMO_ID));
          for (const [name, ms] of Object.entries(spent)) cpu.add(`gRPC ${name}`, ms, r.ok);
          busy.gRPC.push(spent.daemon / wallMs);
          return r.perSecond;
        },
        rest: async () => {
          const { result: r, cpu: spent, wallMs } = await withCpu(modelmora, () =>
            restLoad({ url: daemon.inferUrl(DEMO_ID), bodies, connections: ctx.connections, seconds: ctx.loadSeconds }),
          );
          for (const [name, ms] of Object.entries(spent)) cpu.add(`REST ${name}`, ms, r.ok);
          busy.REST.push(spent.daemon / wallMs);
          return requireClean('ModelMora REST', r);
        },
        grpcFixed: async () => {
          const { result: r, cpu: spent } = await withCpu({ server: () => [fixedGrpc.pid] }, () => grpcLoad(fixedGrpc.info.port, 'fixed'));
          frameworkCpu.add('grpc-js', spent.server!, r.ok);
          return r.perSecond;
        },
        restFixed: async () => {
          const { result: r, cpu: spent } = await withCpu({ server: () => [fixedRest.pid] }, () =>
            restLoad({ url: fixedRest.info.url, bodies, connections: ctx.connections, seconds: ctx.loadSeconds }),
          );
          frameworkCpu.add('fastify', spent.server!, r.ok);
          return requireClean('fixed REST', r);
        },
      },
      ctx.rounds,
    );
    const streamTexts = wideRequestTexts();
    const bytes = WIDE_TEXTS_PER_REQUEST * WIDE_DIMS * 4;
    let lastMessageBytes = 0;
    const streamCpu = new CpuPerUnit();
    const stream = await alternate(
      {
        inferStream: async () => {
          const { result: r, cpu: spent } = await withCpu(modelmoraWith(streamClient.pid), () =>
            streamClient.request<Awaited<ReturnType<typeof inferStreamLoad>>>({
              cmd: 'inferStream',
              port: daemon.grpcPort,
              modelId: WIDE_ID,
              texts: streamTexts,
              window: WINDOW,
              seconds: ctx.loadSeconds,
              maxMessageBytes: STREAM_MAX_MESSAGE,
            }),
          );
          for (const [name, ms] of Object.entries(spent)) streamCpu.add(`InferStream ${name}`, ms / 1000, r.messages);
          lastMessageBytes = r.bytesPerMessage;
          return r.mbPerSecond;
        },
        echo: async () => {
          const { result: r, cpu: spent } = await withCpu({ server: () => [echo.pid], client: () => [streamClient.pid] }, () =>
            streamClient.request<Awaited<ReturnType<typeof echoLoad>>>({ cmd: 'echo', port: echo.info.port, bytes, window: WINDOW, seconds: ctx.loadSeconds }),
          );
          for (const [name, ms] of Object.entries(spent)) streamCpu.add(`echo ${name}`, ms / 1000, r.messages);
          return r.mbPerSecond;
        },
      },
      ctx.rounds,
    );
    return [
      compareRow({
        ...ROW4,
        a: { label: `ModelMora gRPC Infer, ${ctx.connections} concurrent calls, demo model`, unit: 'req/s', summary: unary.grpc },
        b: { label: `ModelMora REST, ${ctx.connections} clients, demo model`, unit: 'req/s', summary: unary.rest },
        check: (r) => r >= 1.0,
        notes: [
          `CPU per request (median of runs; client = this harness): ${cpu.describe()}.`,
          `The frameworks alone, answering a fixed 100-float embedding under the same generators (bench/baselines/fixed-grpc.ts, fixed-server.ts): grpc-js ${formatNumber(unary.grpcFixed.median)} calls/s against fastify ${formatNumber(unary.restFixed.median)} req/s, ${formatNumber(unary.grpcFixed.median / unary.restFixed.median)}; server CPU per call ${frameworkCpu.describe()}.`,
          `Where the gap is: the daemon process used ${formatNumber(percentileOf(busy.gRPC, 50))} of a core during the gRPC runs and ${formatNumber(percentileOf(busy.REST, 50))} during the REST runs. Daemon CPU per call, gRPC minus REST: ${signedMicros(cpu.median('gRPC daemon') - cpu.median('REST daemon'))}; server CPU per call, grpc-js alone minus fastify alone: ${signedMicros(frameworkCpu.median('grpc-js') - frameworkCpu.median('fastify'))}.`,
        ],
      }),
      compareRow({
        ...ROW5,
        a: { label: `InferStream, ${WIDE_TEXTS_PER_REQUEST} x ${WIDE_DIMS}-float embeddings per answer, ${WINDOW} in flight`, unit: 'MB/s', summary: stream.inferStream },
        b: { label: `bare grpc-js bidi echo of ${(bytes / 2 ** 20).toFixed(0)} MiB messages, ${WINDOW} in flight`, unit: 'MB/s', summary: stream.echo },
        check: (r) => r >= 0.8 && stream.inferStream.median >= 320,
        notes: [
          `Payload per answer: ${lastMessageBytes} bytes of float32 (A) and ${bytes} bytes (B). MB = 10^6 bytes.`,
          `CPU ms per 3 MiB message (median of runs): ${streamCpu.describe().replaceAll(' µs', ' ms')}.`,
        ],
      }),
    ];
  } finally {
    await streamClient.stop();
    await echo.stop();
    await fixedGrpc.stop();
    await fixedRest.stop();
  }
}
