import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isErrorCode, ModelMoraError } from '../domain/errors.js';
import type { ItemOutput } from '../domain/inference.js';
import type { LoadSpec, RunnerBatch, RunnerBatchResult, RunnerFactory, RunnerHandle, RunnerProgress } from '../domain/runner.js';
import { isChildMessage, type ChildMessage, type ParentMessage } from './messages.js';
import { unpackOutputs } from './packed-outputs.js';
import { safeMessage } from './safe-message.js';
import { forkRunner, SpareKeeper, type TakenProcess } from './spare-runner.js';

export interface RunnerFactoryOptions {
  /** The runner entry script; defaults to the compiled runner-process.js next to this file. */
  entry?: string;
  /** Node flags for the runner, after RUNNER_NODE_FLAGS; defaults to none (the daemon's own flags are not inherited). */
  execArgv?: string[];
  /** Longest wait for a model to load; default 120 s. */
  loadTimeoutMs?: number;
  /** Wait between `shutdown` and SIGKILL on stop(); default 5 s. */
  stopGraceMs?: number;
  /**
   * Warm spare runners kept ready (0 or 1; default 0): a load takes the spare, which already
   * imported the runtime, and the factory forks the next one once that load settles.
   */
  spares?: 0 | 1;
}

/** A runner factory that may hold a spare process: close() kills it (daemon stop). */
export interface ProcessRunnerFactory extends RunnerFactory {
  /** No more spares; kills the idle one. Loads after close() fork cold. */
  close(): Promise<void>;
  /** Pid of the idle spare runner, if one is alive. */
  sparePid(): number | undefined;
}

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

const DEFAULT_ENTRY = fileURLToPath(new URL('./runner-process.js', import.meta.url));
const STDERR_TAIL_BYTES = 4096;

/** Starts one runner process per loaded model; see DESIGN.md §2 for why a process. */
export function createRunnerFactory(options: RunnerFactoryOptions = {}): ProcessRunnerFactory {
  const spares = new SpareKeeper(options.spares ?? 0, { entry: options.entry ?? DEFAULT_ENTRY, execArgv: options.execArgv ?? [] });
  spares.refill();
  const factory = async (spec: LoadSpec, signal?: AbortSignal): Promise<RunnerHandle> => {
    if (signal?.aborted) throw new ModelMoraError('CANCELLED', `Loading model '${spec.modelId}' was cancelled`);
    try {
      return await startRunner(spec, options, signal, spares.take());
    } finally {
      // After the load, not during it: the next spare's imports would compete for the CPU.
      spares.refill();
    }
  };
  return Object.assign(factory, { close: () => spares.close(), sparePid: () => spares.pid });
}

function describeExit({ code, signal }: ExitInfo): string {
  return signal ? `signal ${signal}` : `code ${code ?? 'unknown'}`;
}

async function startRunner(spec: LoadSpec, options: RunnerFactoryOptions, signal: AbortSignal | undefined, spare: TakenProcess | undefined): Promise<RunnerHandle> {
  let taken = spare;
  if (!taken) {
    try {
      taken = { child: forkRunner({ entry: options.entry ?? DEFAULT_ENTRY, execArgv: options.execArgv ?? [] }), booted: false };
    } catch (err) {
      throw new ModelMoraError('PROCESS_SPAWN_FAILED', `Could not start a runner for model '${spec.modelId}'`, { cause: err });
    }
  }
  const runner = new ChildRunner(spec, taken.child, options.stopGraceMs ?? 5000, taken.booted);
  await runner.load(options.loadTimeoutMs ?? 120_000, signal);
  return runner;
}

interface PendingRun {
  resolve(result: RunnerBatchResult): void;
  reject(err: ModelMoraError): void;
  onProgress: ((event: RunnerProgress) => void) | undefined;
}

class ChildRunner implements RunnerHandle {
  readonly modelId: string;
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private stopping = false;
  private booted = false;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRun>();
  private readonly rssWaiters = new Map<number, (bytes: number) => void>();
  private readonly messageListeners = new Set<(message: ChildMessage) => void>();
  private stderrTail = '';
  private spawnError: Error | undefined;

  constructor(
    private readonly spec: LoadSpec,
    private readonly child: ChildProcess,
    private readonly stopGraceMs: number,
    booted: boolean,
  ) {
    this.modelId = spec.modelId;
    this.booted = booted;
    this.pid = child.pid;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.on('error', (err) => {
      // Spawn failures (and failed kills) land here; 'exit' may or may not follow.
      this.spawnError ??= err;
      if (child.pid === undefined) this.onExit({ code: null, signal: null });
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit({ code, signal });
        resolve({ code, signal });
      });
      if (child.pid === undefined) child.once('error', () => resolve({ code: null, signal: null }));
    });
    child.on('message', (message: unknown) => {
      if (isChildMessage(message)) this.onMessage(message);
    });
  }

  /** Sends `load` and waits for `loaded`; every failure becomes a ModelMoraError with a safe text. */
  load(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (err: ModelMoraError) => {
        cleanup();
        this.kill();
        reject(err);
      };
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'loaded') {
          cleanup();
          resolve();
        } else if (message.type === 'error' && message.id === undefined) {
          fail(new ModelMoraError('MODEL_LOAD_FAILED', this.safe(message.message), { cause: this.stderrTail || undefined }));
        }
      };
      const onExit = (code: number | null, exitSignal: NodeJS.Signals | null) => {
        const how = describeExit({ code, signal: exitSignal });
        fail(
          this.booted
            ? new ModelMoraError('MODEL_LOAD_FAILED', `The runner for model '${this.modelId}' exited with ${how} while loading`, { cause: this.stderrTail || undefined })
            : new ModelMoraError('PROCESS_SPAWN_FAILED', `Could not start a runner for model '${this.modelId}' (it exited with ${how})`, { cause: this.spawnError ?? (this.stderrTail || undefined) }),
        );
      };
      const onError = (err: Error) => {
        if (this.child.pid === undefined) {
          fail(new ModelMoraError('PROCESS_SPAWN_FAILED', `Could not start a runner for model '${this.modelId}'`, { cause: err }));
        }
      };
      const onAbort = () => fail(new ModelMoraError('CANCELLED', `Loading model '${this.modelId}' was cancelled`));
      const timer = setTimeout(
        () => fail(new ModelMoraError('MODEL_LOAD_FAILED', `Model '${this.modelId}' did not load within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      const cleanup = () => {
        clearTimeout(timer);
        this.messageListeners.delete(onMessage);
        this.child.off('exit', onExit);
        this.child.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      this.messageListeners.add(onMessage);
      this.child.on('exit', onExit);
      this.child.on('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.post({ type: 'load', spec: this.spec })) {
        fail(new ModelMoraError('PROCESS_SPAWN_FAILED', `Could not start a runner for model '${this.modelId}'`, { cause: this.spawnError }));
      }
    });
  }

  run(batch: RunnerBatch, signal?: AbortSignal, onProgress?: (event: RunnerProgress) => void): Promise<RunnerBatchResult> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (signal?.aborted) return Promise.reject(new ModelMoraError('CANCELLED', 'Request was cancelled'));
    const id = this.nextId++;
    return new Promise<RunnerBatchResult>((resolve, reject) => {
      // Cancel answers the caller at once; a late result from the runner is dropped.
      const onAbort = () => {
        this.pending.delete(id);
        this.post({ type: 'cancel', id });
        reject(new ModelMoraError('CANCELLED', 'Request was cancelled'));
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (result) => {
          done();
          resolve(result);
        },
        reject: (err) => {
          done();
          reject(err);
        },
        onProgress,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.post({ type: 'run', id, batch })) {
        this.pending.delete(id);
        done();
        reject(this.refusal() ?? this.unhealthy('its channel is closed'));
      }
    });
  }

  /** Read from /proc in the parent when possible: it answers even while the runner is busy. */
  async rssBytes(): Promise<number> {
    if (this.exitInfo || this.pid === undefined) return 0;
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (match?.[1]) return Number(match[1]) * 1024;
    } catch {
      // Not Linux (or the process just exited): ask the runner itself.
    }
    return this.askRss();
  }

  async stop(): Promise<void> {
    if (!this.exitInfo) {
      this.stopping = true;
      this.post({ type: 'shutdown' });
      const timer = setTimeout(() => this.kill(), this.stopGraceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private askRss(): Promise<number> {
    const id = this.nextId++;
    return new Promise<number>((resolve) => {
      const timer = setTimeout(() => finish(0), 2000);
      const finish = (bytes: number) => {
        clearTimeout(timer);
        this.rssWaiters.delete(id);
        resolve(bytes);
      };
      this.rssWaiters.set(id, finish);
      if (!this.post({ type: 'rss', id })) finish(0);
    });
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'booted') this.booted = true;
    for (const listener of [...this.messageListeners]) listener(message);
    if (message.type === 'result') {
      const run = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!run) return;
      let outputs: ItemOutput[];
      try {
        outputs = unpackOutputs(message);
      } catch {
        run.reject(new ModelMoraError('INFERENCE_FAILED', `The runner for model '${this.modelId}' sent a malformed result`));
        return;
      }
      run.resolve({ outputs, inferenceMs: message.inferenceMs });
    } else if (message.type === 'error' && message.id !== undefined) {
      const code = isErrorCode(message.code) ? message.code : 'INFERENCE_FAILED';
      this.pending.get(message.id)?.reject(new ModelMoraError(code, this.safe(message.message)));
      this.pending.delete(message.id);
    } else if (message.type === 'progress') {
      this.reportProgress(message.id, message.event);
    } else if (message.type === 'rss') {
      this.rssWaiters.get(message.id)?.(message.rssBytes);
    }
  }

  /** A listener that throws must not break the IPC channel's message loop. */
  private reportProgress(id: number, event: RunnerProgress): void {
    const listener = this.pending.get(id)?.onProgress;
    if (!listener || !isProgressEvent(event)) return;
    try {
      listener(event);
    } catch {
      // The caller's stream is gone; the run goes on and its result is dropped there.
    }
  }

  private onExit(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    const err = this.refusal();
    for (const run of this.pending.values()) if (err) run.reject(err);
    this.pending.clear();
    for (const finish of this.rssWaiters.values()) finish(0);
  }

  /** Why a run cannot be sent now, or undefined if it can. */
  private refusal(): ModelMoraError | undefined {
    if (this.stopping) return new ModelMoraError('MODEL_NOT_LOADED', `Model '${this.modelId}' was unloaded`);
    if (this.exitInfo) return this.unhealthy(`exited with ${describeExit(this.exitInfo)}`);
    return undefined;
  }

  private unhealthy(reason: string): ModelMoraError {
    return new ModelMoraError('UNHEALTHY_MODEL', `The runner for model '${this.modelId}' ${reason}`, {
      cause: this.stderrTail || undefined,
    });
  }

  private post(message: ParentMessage): boolean {
    if (this.exitInfo || !this.child.connected) return false;
    try {
      // The callback swallows EPIPE-style errors: an exit is reported by the 'exit' event.
      return this.child.send(message, undefined, undefined, () => {}) || this.child.connected;
    } catch {
      return false;
    }
  }

  private kill(): void {
    if (!this.exitInfo && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** The runner already cleans its texts; this second pass guards the one path it knows. */
  private safe(text: string): string {
    return safeMessage(text, this.spec.folder);
  }
}

function isProgressEvent(value: unknown): value is RunnerProgress {
  return typeof value === 'object' && value !== null && Number.isInteger((value as { item?: unknown }).item);
}
