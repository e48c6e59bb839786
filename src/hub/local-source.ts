import type { ModelSource } from './source.js';

export function createLocalSource(folder: string, baseDir: string): ModelSource {
  throw new Error('not implemented');
}
