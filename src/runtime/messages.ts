import type { ErrorCode } from '../domain/errors.js';
import type { LoadSpec, RunnerBatch, RunnerProgress } from '../domain/runner.js';
import type { PackedOutput } from './packed-outputs.js';

/**
 * The IPC protocol between the daemon and a runner process. Both sides use Node's `advanced`
 * serialization, so Float32Array and Uint8Array payloads cross as typed arrays, not JSON.
 *
 * Sequence: the child announces `booted` as soon as its entry module runs (so the parent can
 * tell "the process could not start" from "the model could not load"), the parent sends `load`,
 * the child answers `loaded` or an `error` without id, then `run`s flow until `shutdown` or
 * until the parent disconnects.
 */
export type ParentMessage =
  | { type: 'load'; spec: LoadSpec }
  | { type: 'run'; id: number; batch: RunnerBatch }
  | { type: 'cancel'; id: number }
  /** Asks the runner's own RSS; only used where /proc is not available. */
  | { type: 'rss'; id: number }
  | { type: 'shutdown' };

export type ChildMessage =
  /** The runner entry is up and listening; the model is not loaded yet. */
  | { type: 'booted' }
  /** The model is loaded and runs are accepted. */
  | { type: 'loaded'; loadMs: number }
  /** outputs as resultMessage packed them (embeddings sharing one buffer travel as `floats`). */
  | { type: 'result'; id: number; outputs: PackedOutput[]; floats?: Float32Array; pad?: string; inferenceMs: number }
  /** No id: the load failed. `message` is already safe to show (no absolute paths). */
  | { type: 'error'; id?: number; code: ErrorCode; message: string }
  /** Per item of run `id`, while it works: tokens as produced (txt2txt), steps (txt2img), 0..100. */
  | { type: 'progress'; id: number; event: RunnerProgress }
  | { type: 'rss'; id: number; rssBytes: number };

/** The argument of a spare runner: forked ahead of any load, it imports the runtime while it waits. */
export const WARM_FLAG = '--warm';

const PARENT_TYPES = new Set(['load', 'run', 'cancel', 'rss', 'shutdown']);
const CHILD_TYPES = new Set(['booted', 'loaded', 'result', 'error', 'progress', 'rss']);

function hasType(value: unknown, types: Set<string>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && types.has(type);
}

export function isParentMessage(value: unknown): value is ParentMessage {
  return hasType(value, PARENT_TYPES);
}

export function isChildMessage(value: unknown): value is ChildMessage {
  return hasType(value, CHILD_TYPES);
}
