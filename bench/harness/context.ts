/** What every row group gets: the mode's run counts and durations, logging, and the shared daemon. */
import { fileURLToPath } from 'node:url';
import { ensureMiniLmCostModel } from '../../scripts/fixtures/build-minilm-cost.js';
import { benchSentences, inferBody } from '../fixtures/sentences.js';
import { ensureWideModel } from '../fixtures/wide-model.js';
import { INFER_PATH, inferCodec, inferMessages } from '../load/grpc-load.js';
import { grpcUnaryLoad } from '../load/grpc-unary-load.js';
import { restLoad } from '../load/rest-load.js';
import { untilQuiet } from './cpu.js';
import type { AlternateOptions } from './stats.js';
import { DEMO_ID, DEMO_MODEL, startBenchDaemon, type BenchDaemon } from './daemon.js';

export const MINILM_ID = 'bench/minilm-cost';
export const WIDE_ID = 'bench/wide-embed';
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * Load the shared daemon takes over REST and over gRPC before any row measures it. Its request
 * path costs 2-3x its steady cost for the first seconds of load while V8 optimises it (daemon CPU
 * per request over the first five 1 s runs of 64 REST clients on the demo model: 157, 83, 62,
 * 58, 56 µs), longer than quick mode's one 1 s warm-up run, whose rows 3 and 4 then measured
 * a daemon still speeding up (ModelMora REST 10,000 req/s in the first run, 15,700 in the fifth).
 */
const PRIME_SECONDS = 3;
const CONNECTIONS = 64;
/** Compiled scripts of the baselines (children of the harness). */
export const DIST_BENCH = fileURLToPath(new URL('../', import.meta.url));

export interface BenchContext {
  quick: boolean;
  /** What every row's A/B alternation gets: measured runs per side (>= 5), warm-ups, logging, and a quiet machine before each run. */
  rounds: AlternateOptions;
  /** Length of one throughput run. */
  loadSeconds: number;
  /** Clients of the REST and gRPC load rows. */
  connections: number;
  log(line: string): void;
  miniLmDir: string;
  wideDir: string;
  /** The daemon of rows 1-5 and 7: MiniLM-cost, demo and wide models, all loaded and pinned. */
  mainDaemon(): Promise<BenchDaemon>;
  close(): Promise<void>;
}

export function createContext(quick: boolean, log: (line: string) => void): BenchContext {
  const miniLmDir = ensureMiniLmCostModel(undefined, log);
  const wideDir = ensureWideModel();
  let daemon: Promise<BenchDaemon> | undefined;
  return {
    quick,
    // Full mode: more, shorter runs, so a burst from another process moves one run, not the median.
    rounds: { runs: quick ? 5 : 9, warmups: 1, log, settle: () => untilQuiet() },
    loadSeconds: quick ? 1 : 2,
    connections: CONNECTIONS,
    log,
    miniLmDir,
    wideDir,
    mainDaemon: () =>
      (daemon ??= (async () => {
        const started = performance.now();
        const d = await startBenchDaemon({
          models: [
            { id: MINILM_ID, task: 'txt2embed', source: miniLmDir, keep_alive: -1 },
            { id: DEMO_ID, task: 'txt2embed', source: DEMO_MODEL, keep_alive: -1 },
            { id: WIDE_ID, task: 'txt2embed', source: wideDir, keep_alive: -1 },
          ],
        });
        for (const id of [MINILM_ID, DEMO_ID, WIDE_ID]) await d.load(id);
        const texts = benchSentences();
        await restLoad({ url: d.inferUrl(DEMO_ID), bodies: texts.map((t) => inferBody(t)), connections: CONNECTIONS, seconds: PRIME_SECONDS });
        if (d.grpcPort) {
          const messages = inferMessages(inferCodec(), DEMO_ID, texts);
          await grpcUnaryLoad({ port: d.grpcPort, path: INFER_PATH, messages, concurrency: CONNECTIONS, seconds: PRIME_SECONDS, check: () => undefined });
        }
        log(`main daemon up with 3 models loaded and primed in ${Math.round(performance.now() - started)} ms (gRPC ${d.grpcPort ?? 'not on main yet'})`);
        return d;
      })()),
    close: async () => {
      if (daemon) await (await daemon).close();
    },
  };
}
