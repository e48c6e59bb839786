import { listFiles, modelInfo } from '@huggingface/hub';
import { ModelMoraError } from '../domain/errors.js';
import type { ModelRef } from '../domain/model-ref.js';
import { fileFilter } from './file-patterns.js';
import { openRange, retryable, statusError, type FetchLike } from './http-range.js';
import { checkCommit, checkRepoPath, checkRevision, checkSha256, checkSize, checkSnapshot, printable } from './snapshot-check.js';
import { Spool } from './spool.js';
import type { ModelSource, OpenedFile, Snapshot, SourceFile, SourceSpec } from './source.js';

/**
 * The Hugging Face Hub (or a mirror at hub_url) through @huggingface/hub: modelInfo resolves a
 * revision to its commit, listFiles lists that commit's files (LFS files carry their sha256).
 * Bytes come from `resolve/<commit>/<path>` with our own Range handling, because the library's
 * blob cannot tell a resumed (206) answer from a full (200) one.
 */
export function createHubSource(ref: ModelRef, spec: SourceSpec): ModelSource {
  return new HubSource(ref, spec);
}

interface TreeEntry {
  type?: unknown;
  path?: unknown;
  size?: unknown;
  oid?: unknown;
  lfs?: { oid?: unknown; size?: unknown } | undefined;
}

const GIT_SHA1 = /^[0-9a-f]{40}$/;
/** Non-LFS files hashed at once during resolve. */
const SMALL_FILE_CONCURRENCY = 4;

class HubSource implements ModelSource {
  readonly kind = 'hub' as const;
  readonly location: string;
  private readonly hubUrl: string;
  private readonly fetch: FetchLike;
  private readonly spool: Spool;

  constructor(
    private readonly ref: ModelRef,
    spec: SourceSpec,
  ) {
    this.hubUrl = spec.hubUrl.replace(/\/+$/, '');
    this.location = `${this.hubUrl}/${ref.id}`;
    this.fetch = authorizedFetch(spec.fetch ?? fetch, this.hubUrl, spec.token ?? null);
    this.spool = new Spool(spec.spoolDir);
  }

  async resolve(revision: string, patterns?: readonly string[]): Promise<Snapshot> {
    checkRevision(revision);
    const commit = await this.commitOf(revision);
    const keep = fileFilter(patterns);
    const lfs: SourceFile[] = [];
    const small: { path: string; size: number; oid: string }[] = [];
    const seen = new Set<string>();
    for (const entry of await this.tree(commit)) {
      if (entry.type !== 'file') continue;
      const path = checkRepoPath(entry.path);
      const size = checkSize(entry.size);
      // Case-folded: `A.bin` and `a.bin` would fight over one name on macOS and Windows.
      if (seen.has(path.toLowerCase())) throw refused(`listed '${printable(path)}' twice`);
      seen.add(path.toLowerCase());
      if (!keep(path)) continue;
      if (entry.lfs) {
        if (checkSize(entry.lfs.size) !== size) throw refused(`listed two sizes for '${printable(path)}'`);
        lfs.push({ path, size, sha256: checkSha256(entry.lfs.oid) });
      } else {
        if (typeof entry.oid !== 'string' || !GIT_SHA1.test(entry.oid)) throw refused(`listed a bad oid for '${printable(path)}'`);
        small.push({ path, size, oid: entry.oid });
      }
    }
    const hashed = await mapLimit(small, SMALL_FILE_CONCURRENCY, (f) => this.hashSmallFile(commit, f));
    const files = [...lfs, ...hashed].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return checkSnapshot({ commit, files });
  }

  async open(commit: string, file: SourceFile, offset: number, signal?: AbortSignal): Promise<OpenedFile> {
    checkCommit(commit);
    checkRepoPath(file.path);
    const spooled = await this.spool.open(file.sha256, file.size, offset);
    if (spooled) return spooled;
    return openRange(this.fetch, this.fileUrl(commit, file.path), offset, `'${file.path}' of ${this.ref.id}`, signal);
  }

  private async commitOf(revision: string): Promise<string> {
    try {
      const info = await modelInfo({ name: this.ref.id, hubUrl: this.hubUrl, revision, additionalFields: ['sha'], fetch: this.fetch as typeof fetch });
      return checkCommit(info.sha);
    } catch (err) {
      throw hubError(err, `${this.ref.id}@${printable(revision)}`);
    }
  }

  private async tree(commit: string): Promise<TreeEntry[]> {
    const entries: TreeEntry[] = [];
    try {
      for await (const entry of listFiles({ repo: this.ref.id, recursive: true, revision: commit, hubUrl: this.hubUrl, fetch: this.fetch as typeof fetch })) {
        entries.push(entry as TreeEntry);
        if (entries.length > 100_000) throw refused('listed more than 100000 files');
      }
    } catch (err) {
      throw hubError(err, this.ref.id);
    }
    return entries;
  }

  /** The hub gives only a git sha1 for non-LFS files: fetch them once, hash, keep the bytes for the pull. */
  private async hashSmallFile(commit: string, file: { path: string; size: number; oid: string }): Promise<SourceFile> {
    const what = `'${file.path}' of ${this.ref.id}`;
    const opened = await openRange(this.fetch, this.fileUrl(commit, file.path), 0, what);
    const kept = await this.spool.keep(limit(opened.body, file.size, what), { gitSize: file.size });
    if (kept.size !== file.size || kept.gitSha1 !== file.oid) {
      throw new ModelMoraError('CHECKSUM_MISMATCH', `${what} does not match the hub's listing (size or git oid differ)`);
    }
    return { path: file.path, size: kept.size, sha256: kept.sha256 };
  }

  private fileUrl(commit: string, path: string): string {
    return `${this.hubUrl}/${this.ref.id}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }
}

/** Stops a body that runs past its listed size (a hostile server could stream forever). */
async function* limit(body: AsyncIterable<Uint8Array>, size: number, what: string): AsyncIterable<Uint8Array> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > size) throw new ModelMoraError('CHECKSUM_MISMATCH', `${what} is larger than the hub listed`);
    yield chunk;
  }
}

/**
 * The token goes to hub_url's origin only (never to a CDN it redirects to, never to a
 * source_url). Passing it here rather than as the library's accessToken also lifts the
 * library's demand that tokens start with 'hf_', which mirrors do not share.
 */
function authorizedFetch(base: typeof fetch, hubUrl: string, token: string | null): FetchLike {
  const origin = new URL(hubUrl).origin;
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (!token || url.origin !== origin) return base(input, init);
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return base(input, { ...init, headers });
  };
}

function refused(what: string): ModelMoraError {
  return new ModelMoraError('DOWNLOAD_FAILED', `Refused the hub's file list: it ${what}`);
}

/** @huggingface/hub throws HubApiError (statusCode) or fetch's TypeError; neither message is shown (they hold URLs). */
function hubError(err: unknown, what: string): ModelMoraError {
  if (err instanceof ModelMoraError) return err;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number') {
    if (status === 404) return new ModelMoraError('MODEL_NOT_FOUND', `${what} was not found on the hub`, { cause: err });
    return statusError(status, what);
  }
  if (err instanceof SyntaxError) return retryable(`The hub sent a malformed answer for ${what}`, err);
  return retryable(`Could not reach the hub for ${what}`, err);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
