import { createHash } from 'node:crypto';
import type { SourceFile } from './source.js';

/**
 * A commit id for sources without git (a local folder, a url): the first 40 hex digits of the
 * sha256 over the sorted "path\nsize\nsha256\n" lines, so the same bytes always give the same
 * commit and any change gives a new one.
 */
export function contentCommit(files: readonly SourceFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${f.path}\n${f.size}\n${f.sha256}\n`);
  }
  return hash.digest('hex').slice(0, 40);
}
