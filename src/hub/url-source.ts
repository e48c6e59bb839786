import { ModelMoraError } from '../domain/errors.js';
import { contentCommit } from './content-commit.js';
import { fileFilter } from './file-patterns.js';
import { openRange } from './http-range.js';
import { checkRepoPath, checkSnapshot, printable } from './snapshot-check.js';
import { Spool } from './spool.js';
import type { ModelSource, OpenedFile, Snapshot, SourceFile, SourceSpec } from './source.js';
import { checkUrl, createGuardedFetch } from './url-guard.js';

/**
 * `source_url`: one file at an https URL, SSRF-guarded on every hop. There is no listing to
 * trust, so resolve() downloads the file once to learn its size and sha256 and spools it for
 * the pull that follows; its "commit" is the content hash. The hub token is never sent here.
 */
export function createUrlSource(url: string, spec: SourceSpec): ModelSource {
  return new UrlSource(url, spec);
}

class UrlSource implements ModelSource {
  readonly kind = 'url' as const;
  private readonly url: URL;
  private readonly fileName: string;
  private readonly fetch: ReturnType<typeof createGuardedFetch>;
  private readonly spool: Spool;

  constructor(
    readonly location: string,
    spec: SourceSpec,
  ) {
    this.url = checkUrl(location);
    this.fileName = fileNameOf(this.url);
    this.fetch = createGuardedFetch(spec.urlGuard);
    this.spool = new Spool(spec.spoolDir);
  }

  async resolve(_revision: string, patterns?: readonly string[]): Promise<Snapshot> {
    if (!fileFilter(patterns)(this.fileName)) return { commit: contentCommit([]), files: [] };
    const opened = await openRange(this.fetch, this.url, 0, `'${this.fileName}'`);
    const kept = await this.spool.keep(opened.body);
    const files: SourceFile[] = [{ path: this.fileName, size: kept.size, sha256: kept.sha256 }];
    return checkSnapshot({ commit: contentCommit(files), files });
  }

  async open(_commit: string, file: SourceFile, offset: number, signal?: AbortSignal): Promise<OpenedFile> {
    const spooled = await this.spool.open(file.sha256, file.size, offset);
    if (spooled) return spooled;
    return openRange(this.fetch, this.url, offset, `'${this.fileName}'`, signal);
  }
}

/** The URL's last path segment names the file in the snapshot. */
function fileNameOf(url: URL): string {
  const last = url.pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = '';
  }
  if (name === '' || name.includes('/')) {
    throw new ModelMoraError('URL_NOT_ALLOWED', `source_url must end in a file name ('${printable(url.pathname)}' does not)`);
  }
  return checkRepoPath(name);
}
