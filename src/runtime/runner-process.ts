/**
 * Entry of a runner process (started by runner-client.ts with child_process.fork). It owns one
 * model's onnxruntime session, so a native crash or leak only takes this process down.
 * Every message to the parent is built here with a safe text: no absolute paths, no stacks.
 */
import { performance } from 'node:perf_hooks';
import { isErrorCode, ModelMoraError, type ErrorCode } from '../domain/errors.js';
import type { LoadSpec, RunnerBatch } from '../domain/runner.js';
import { isParentMessage, WARM_FLAG, type ChildMessage, type ParentMessage } from './messages.js';
import { errorText, safeMessage } from './safe-message.js';
import { checkModelFiles } from './model-files.js';
import { releaseHeapMemory } from './heap-release.js';
import { resultMessage } from './packed-outputs.js';
import { loadTaskHandler, warmUpRuntime, type TaskHandler } from './tasks/index.js';

interface QueuedRun {
  id: number;
  batch: RunnerBatch;
  abort: AbortController;
}

let spec: LoadSpec | undefined;
let handler: TaskHandler | undefined;
let loading = false;
let shuttingDown = false;
/** A spare (`--warm`) imports the runtime at once so its future load only creates the session. */
const warming: Promise<void> = process.argv.includes(WARM_FLAG) ? warmUpRuntime(() => spec === undefined).catch(() => undefined) : Promise.resolve();
/** Runs go one at a time: onnxruntime already uses every intra-op thread for one batch. */
const queue: QueuedRun[] = [];
let current: QueuedRun | undefined;

function send(message: ChildMessage): void {
  if (!process.connected) return;
  process.send?.(message, undefined, undefined, () => {
    // A send that fails means the parent is gone; the 'disconnect' handler exits.
  });
}

function errorMessage(err: unknown, fallback: ErrorCode): { code: ErrorCode; message: string } {
  if (err instanceof ModelMoraError && isErrorCode(err.code)) {
    return { code: err.code, message: safeMessage(err.message, spec?.folder) };
  }
  const prefix = fallback === 'MODEL_LOAD_FAILED' ? `Model '${spec?.modelId ?? '?'}' failed to load` : 'Inference failed';
  return { code: fallback, message: safeMessage(`${prefix}: ${errorText(err)}`, spec?.folder) };
}

async function load(next: LoadSpec): Promise<void> {
  if (loading || handler) {
    send({ type: 'error', code: 'MODEL_LOAD_FAILED', message: 'This runner already holds a model' });
    return;
  }
  loading = true;
  spec = next;
  // A spare's command line says `--warm`; a runner holding a model says so instead (ps, tests).
  process.title = 'modelmora-runner';
  const start = performance.now();
  try {
    await warming;
    // Before any loader opens a file: a FIFO would hang it, external data could point anywhere.
    checkModelFiles(next.folder);
    handler = await loadTaskHandler(next);
    send({ type: 'loaded', loadMs: Math.round(performance.now() - start) });
    // Loading left megabytes of garbage (parsed JSON, file texts) that an idle runner's heap
    // might never grow enough to collect; one memory-reducing GC now, after `loaded`, frees it
    // and gives its pages back (bench rows 9b/9c: 3-5 MB less RSS than a plain global.gc()).
    setTimeout(() => void releaseHeapMemory().catch(() => undefined), 0);
  } catch (err) {
    send({ type: 'error', ...errorMessage(err, 'MODEL_LOAD_FAILED') });
  } finally {
    loading = false;
  }
}

async function drain(): Promise<void> {
  while (!current && !shuttingDown && handler) {
    const run = queue.shift();
    if (!run) return;
    current = run;
    const start = performance.now();
    try {
      const outputs = await handler.run(run.batch, {
        signal: run.abort.signal,
        progress: (event) => send({ type: 'progress', id: run.id, event }),
      });
      if (outputs.length !== run.batch.items.length) {
        throw new ModelMoraError('INFERENCE_FAILED', `The model returned ${outputs.length} outputs for ${run.batch.items.length} inputs`);
      }
      send(resultMessage(run.id, outputs, performance.now() - start));
    } catch (err) {
      const code = run.abort.signal.aborted ? 'CANCELLED' : 'INFERENCE_FAILED';
      send({ type: 'error', id: run.id, ...errorMessage(err, code) });
    } finally {
      current = undefined;
    }
  }
}

function enqueue(id: number, batch: RunnerBatch): void {
  if (!handler) {
    send({ type: 'error', id, code: 'MODEL_NOT_LOADED', message: 'The runner has no model loaded' });
    return;
  }
  queue.push({ id, batch, abort: new AbortController() });
  void drain();
}

function cancel(id: number): void {
  if (current?.id === id) {
    current.abort.abort();
    return;
  }
  const index = queue.findIndex((run) => run.id === id);
  if (index < 0) return;
  queue.splice(index, 1);
  send({ type: 'error', id, code: 'CANCELLED', message: 'Cancelled before it ran' });
}

async function shutdown(exitCode: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  try {
    await handler?.dispose();
  } catch {
    // Exiting frees everything anyway; a failed dispose must not keep the process alive.
  }
  process.exit(exitCode);
}

function onMessage(message: ParentMessage): void {
  switch (message.type) {
    case 'load':
      void load(message.spec);
      break;
    case 'run':
      enqueue(message.id, message.batch);
      break;
    case 'cancel':
      cancel(message.id);
      break;
    case 'rss':
      send({ type: 'rss', id: message.id, rssBytes: process.memoryUsage.rss() });
      break;
    case 'shutdown':
      void shutdown(0);
      break;
  }
}

if (!process.send) {
  process.stderr.write('runner-process is started by the ModelMora daemon, not by hand\n');
  process.exit(2);
}
process.on('message', (message: unknown) => {
  if (isParentMessage(message)) onMessage(message);
});
// The parent died or dropped us: never linger as an orphan holding model memory.
process.on('disconnect', () => process.exit(0));
send({ type: 'booted' });
