import type { EngineObserver } from '../scheduler/observer.js';
import type { Metrics } from './metrics.js';

/**
 * The engine's events as Prometheus metrics. Requests are counted by InferenceService (it also
 * sees requests the engine never gets, such as invalid ones), not here.
 */
export function metricsObserver(metrics: Metrics): EngineObserver {
  return {
    batchRun: (e) => metrics.batch(e.modelId, e.items),
    queueDepth: (modelId, depth) => metrics.queueDepth(modelId, depth),
    queueWait: (e) => metrics.queueWait(e.modelId, e.ms / 1000),
    modelLoaded: (e) => {
      metrics.modelLoaded(e.modelId, e.durationMs / 1000);
      if (e.restart) metrics.runnerRestarted(e.modelId);
    },
    loadFailed: (e) => metrics.loadFailed(e.modelId),
    modelUnloaded: (e) => {
      if (e.reason === 'memory') metrics.eviction(e.modelId);
    },
    modelMemory: (modelId, bytes) => metrics.modelMemory(modelId, bytes > 0 ? bytes : null),
    loadedCount: (count) => metrics.loadedModels(count),
  };
}
