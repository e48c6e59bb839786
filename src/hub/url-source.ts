import type { ModelSource, SourceSpec } from './source.js';

export function createUrlSource(url: string, spec: SourceSpec): ModelSource {
  throw new Error('not implemented');
}
