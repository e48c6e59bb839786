import type { LoadSpec } from '../domain/runner.js';

/**
 * What the engine needs to serve one model, from the registry and modelmora.yaml: how to load
 * it, how long to keep it, how much memory to expect, and per-model batching overrides.
 */
export interface ModelServingSpec {
  load: LoadSpec;
  /** Idle ms before unloading; -1 pinned, 0 unload after each use; absent: the server default. */
  keepAliveMs?: number;
  /** `resources.memory_mb` if the model declares it. */
  declaredMemoryMb?: number;
  /** Bytes of the model's weights on disk (the lock's file sizes). */
  weightsBytes?: number;
  maxBatchSize?: number;
  maxDelayMs?: number;
  maxQueueSize?: number;
}

export const MIB = 1024 * 1024;

/**
 * A runner's RSS is the weights plus the runtime, its arenas and the tokenizer: about three
 * times the weights for small ONNX models, so that is the guess until the RSS is measured.
 */
export const WEIGHTS_TO_RSS_FACTOR = 3;

/** Memory a model is expected to take before its runner exists (then the RSS is used). */
export function estimateBytes(spec: ModelServingSpec): number {
  if (spec.declaredMemoryMb !== undefined && spec.declaredMemoryMb > 0) return spec.declaredMemoryMb * MIB;
  return Math.max(0, (spec.weightsBytes ?? 0) * WEIGHTS_TO_RSS_FACTOR);
}
