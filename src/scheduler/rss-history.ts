import { estimateBytes, type ModelServingSpec } from './serving-spec.js';

/**
 * What runners really cost, learned from the RSS measured right after each load. Every runner
 * pays the runtime's baseline (Node, onnxruntime, the tokenizer), about 130 MB, however small its
 * weights, so an estimate from the weights alone lets a budget that fits two runners admit a
 * third. Before a load the estimate is therefore at least the model's own last load RSS, or,
 * for a model never loaded, the lightest runner measured so far.
 */
export class RssHistory {
  private readonly atLoad = new Map<string, number>();
  private lightest = 0;

  /** The RSS of a runner that has just loaded `modelId` (before any batch grows it). */
  record(modelId: string, bytes: number): void {
    if (bytes <= 0) return;
    this.atLoad.set(modelId, bytes);
    this.lightest = this.lightest === 0 ? bytes : Math.min(this.lightest, bytes);
  }

  /** Bytes the model is expected to take before its runner exists. */
  estimate(spec: ModelServingSpec): number {
    return Math.max(estimateBytes(spec), this.atLoad.get(spec.load.modelId) ?? this.lightest);
  }
}
