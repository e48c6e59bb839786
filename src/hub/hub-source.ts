import type { ModelRef } from '../domain/model-ref.js';
import type { ModelSource, SourceSpec } from './source.js';

export function createHubSource(ref: ModelRef, spec: SourceSpec): ModelSource {
  throw new Error('not implemented');
}
