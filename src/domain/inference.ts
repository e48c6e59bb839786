import type { Priority, TaskType } from './task-type.js';

/**
 * One unit of work for a runner: a single text or image. A request with a list becomes several
 * items, so the batcher can pack items of many requests into one runner call.
 */
export type InferenceItem = { kind: 'text'; text: string } | { kind: 'image'; image: Uint8Array };

/** What a runner returns for one item. */
export type ItemOutput =
  | { kind: 'embedding'; embedding: Float32Array | number[] }
  | { kind: 'text'; text: string }
  | { kind: 'image'; png: Uint8Array; width: number; height: number };

/** A request after validation, as the services see it (REST and gRPC both build this). */
export interface InferenceRequest {
  modelId: string;
  items: InferenceItem[];
  /** True when the caller sent a list (text: [...]): the answer is `embeddings`, not `embedding`. */
  batched: boolean;
  parameters: Record<string, unknown>;
  priority: Priority;
  /**
   * Seconds until the deadline, counted from the engine call: timeout_seconds (1..600) as the
   * caller asked, or less, fractional, when a gRPC call deadline comes first.
   */
  timeoutSeconds: number;
  requestId?: string;
}

export interface InferenceMetadata {
  inference_time_ms: number;
  total_time_ms: number;
  batch_size: number;
  device: 'cpu' | 'cuda';
  queue_time_ms?: number;
}

export interface InferenceResult {
  modelId: string;
  taskType: TaskType;
  outputs: ItemOutput[];
  batched: boolean;
  metadata: InferenceMetadata;
}
