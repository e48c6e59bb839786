import type { InferenceItem, ItemOutput } from './inference.js';
import type { TaskType } from './task-type.js';

/** What a runner needs to load a model: everything is already on disk, verified. */
export interface LoadSpec {
  modelId: string;
  taskType: TaskType;
  /** Absolute path of the model's snapshot folder in the cache. */
  folder: string;
  /** The model's `config` from modelmora.yaml / the registry (pooling, normalize, max_length...). */
  config: Record<string, unknown>;
  threads?: number;
  /** Let onnxruntime's idle worker threads spin (setting runner_spin_mb). */
  spin?: boolean;
}

/** One runner call: items of possibly several requests, with the parameters they share. */
export interface RunnerBatch {
  items: InferenceItem[];
  parameters: Record<string, unknown>;
}

/** Progress of one item of a batch, as a runner reports it while working. */
export interface RunnerProgress {
  /** Index of the item in the batch's `items`. */
  item: number;
  /** 0..100 for this item. */
  progress?: number;
  /** A text fragment just produced (txt2txt streaming). */
  token?: string;
  step?: number;
  totalSteps?: number;
}

export interface RunnerBatchResult {
  outputs: ItemOutput[];
  inferenceMs: number;
}

/**
 * A loaded model living in its own child process. The scheduler owns handles and never
 * touches onnxruntime itself; tests inject fake handles through a RunnerFactory.
 */
export interface RunnerHandle {
  readonly modelId: string;
  readonly pid: number | undefined;
  /** `onProgress` receives the runner's progress events (tokens, diffusion steps) as they happen. */
  run(batch: RunnerBatch, signal?: AbortSignal, onProgress?: (event: RunnerProgress) => void): Promise<RunnerBatchResult>;
  /** Resident set size of the runner process, in bytes (measured, not estimated). */
  rssBytes(): Promise<number>;
  /** Graceful stop; kills after a grace period. */
  stop(): Promise<void>;
  /** Resolves when the process exits for any reason (crash or stop). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export type RunnerFactory = (spec: LoadSpec, signal?: AbortSignal) => Promise<RunnerHandle>;
