import type { ErrorCode } from '../domain/errors.js';
import type { Priority } from '../domain/task-type.js';

export type EvictionReason = 'memory' | 'keep_alive' | 'unload' | 'drain';

/**
 * What the engine reports as it works; the metrics and log observers implement it and tests
 * may record it. Requests are not among its events: InferenceService times and counts each
 * one. Every callback is optional and must not throw.
 */
export interface EngineObserver {
  /** The model's waiting requests per priority, after every change. */
  queueDepth?(modelId: string, depth: Record<Priority, number>): void;
  /** One runner call: `items` is the batch size. */
  batchRun?(event: { modelId: string; items: number; requests: number; inferenceMs: number }): void;
  /** Time a request waited in the queue before its batch started. */
  queueWait?(event: { modelId: string; priority: Priority; ms: number }): void;
  /** A runner loaded the model; `restart` when it replaces a runner that died or failed. */
  modelLoaded?(event: { modelId: string; pid: number | undefined; durationMs: number; bytes: number; restart: boolean }): void;
  loadFailed?(event: { modelId: string; errorCode: ErrorCode; message: string; durationMs: number }): void;
  /** A runner exited without being asked to: the model turns unhealthy and restarts on its next request. */
  runnerDied?(event: { modelId: string; pid: number | undefined; exitCode: number | null; signal: NodeJS.Signals | null; message: string }): void;
  modelUnloaded?(event: { modelId: string; pid: number | undefined; bytes: number; reason: EvictionReason }): void;
  /** Bytes the model holds now (0 once unloaded). */
  modelMemory?(modelId: string, bytes: number): void;
  loadedCount?(count: number): void;
}

/** Calls an observer callback, never letting a metrics bug fail a request. */
export function notify<K extends keyof EngineObserver>(
  observer: EngineObserver | undefined,
  key: K,
  ...args: Parameters<NonNullable<EngineObserver[K]>>
): void {
  const fn = observer?.[key] as ((...a: unknown[]) => void) | undefined;
  if (!fn) return;
  try {
    fn.apply(observer, args);
  } catch {
    // Metrics must never break serving.
  }
}
