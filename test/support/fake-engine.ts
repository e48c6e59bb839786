import type { CancelSignal } from '../../src/domain/cancellation.js';
import type { Engine, InferOptions, ModelStatus, QueueDepth } from '../../src/domain/engine.js';
import { ModelMoraError } from '../../src/domain/errors.js';
import type { InferenceRequest, InferenceResult, ItemOutput } from '../../src/domain/inference.js';
import type { TaskType } from '../../src/domain/task-type.js';

/**
 * An Engine that runs nothing: it records calls and answers from simple rules, so REST and gRPC
 * routes can be tested without runners. By default a text becomes the embedding
 * [length, words, 0.5] and an image the embedding [bytes, 0, 0]; `behaviour` replaces that.
 */
export class FakeEngine implements Engine {
  readonly inferCalls: Array<{ request: InferenceRequest; signal: CancelSignal | undefined }> = [];
  readonly loadCalls: string[] = [];
  readonly unloadCalls: string[] = [];
  readonly loaded = new Map<string, ModelStatus>();
  depth: QueueDepth = { high_priority: 0, medium_priority: 0, low_priority: 0 };
  usedMb = 0;
  budgetMb = 4096;
  taskType: TaskType = 'txt2embed';
  /** Replaces the default answer: throw to fail, await the signal to hang. */
  behaviour: ((request: InferenceRequest, signal: CancelSignal | undefined, options: InferOptions) => Promise<InferenceResult>) | undefined;

  async infer(request: InferenceRequest, options: InferOptions = {}): Promise<InferenceResult> {
    this.inferCalls.push({ request, signal: options.signal });
    if (this.behaviour) return this.behaviour(request, options.signal, options);
    const outputs: ItemOutput[] = request.items.map((item) =>
      item.kind === 'text'
        ? { kind: 'embedding', embedding: Float32Array.from([item.text.length, item.text.split(/\s+/).length, 0.5]) }
        : { kind: 'embedding', embedding: [item.image.length, 0, 0] },
    );
    return {
      modelId: request.modelId,
      taskType: this.taskType,
      outputs,
      batched: request.batched,
      metadata: { inference_time_ms: 1.5, total_time_ms: 2.5, batch_size: request.items.length, device: 'cpu', queue_time_ms: 1 },
    };
  }

  async load(modelId: string): Promise<ModelStatus> {
    this.loadCalls.push(modelId);
    const status: ModelStatus = {
      model_id: modelId,
      state: 'loaded',
      memory_usage_mb: 120,
      device: 'cpu',
      loaded_at: '2025-01-01T00:00:00.000Z',
      health_status: { healthy: true, last_check_at: '2025-01-01T00:00:00.000Z' },
    };
    this.loaded.set(modelId, status);
    return status;
  }

  async unload(modelId: string): Promise<void> {
    this.unloadCalls.push(modelId);
    if (!this.loaded.delete(modelId)) throw new ModelMoraError('MODEL_NOT_LOADED', `Model '${modelId}' is not loaded`);
  }

  models(): ModelStatus[] {
    return [...this.loaded.values()];
  }

  queueDepth(): QueueDepth {
    return { ...this.depth };
  }

  memory(): { used_mb: number; budget_mb: number } {
    return { used_mb: this.usedMb, budget_mb: this.budgetMb };
  }

  async drain(): Promise<void> {}
}
