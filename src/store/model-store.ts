import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelRef } from '../domain/model-ref.js';
import { ModelMoraError } from '../domain/errors.js';
import { hashFile } from '../hub/hash-file.js';
import { checkCommit, checkRevision, checkSnapshot, pathInside } from '../hub/snapshot-check.js';
import type { ModelSource, Snapshot, SourceFile } from '../hub/source.js';
import { BlobDownloads, type OpenWriter } from './blob-download.js';
import { EventQueue } from './event-queue.js';
import { linkFile, writeRef } from './snapshot-links.js';

/** What a pull reports, in order: one start, then progress/file/retry events, then done. */
export type PullEvent =
  | { type: 'start'; modelId: string; commit: string; files: { path: string; size: number; cached: boolean }[]; totalBytes: number }
  | { type: 'progress'; path: string; fileBytes: number; fileSize: number; doneBytes: number; totalBytes: number }
  | { type: 'retry'; path: string; attempt: number; reason: string }
  | { type: 'file'; path: string; cached: boolean }
  | { type: 'done'; folder: string };

export interface PullOptions {
  signal?: AbortSignal;
  /** Written to refs/<revision> (holding the commit) once every file is in place. */
  revision?: string;
  /** Files downloaded at once (default 3). */
  concurrency?: number;
  /** Attempts after a network failure or 5xx, each resuming with Range (default 3). */
  retries?: number;
  /** First retry delay; doubles each attempt (default 500). */
  retryDelayMs?: number;
}

export interface VerifyReport {
  ok: string[];
  bad: { path: string; reason: string }[];
}

const PROGRESS_MS = 100;

/** One per process, shared by every ModelStore: blobs in flight are keyed by their absolute path. */
const downloads = new BlobDownloads();

/**
 * The content-addressed model cache at <home>/cache, in the Hugging Face cache layout so
 * HF_HOME tools can read it: models--org--name/{blobs/<sha256>, snapshots/<commit>/<path>
 * (relative symlink to the blob), refs/<revision> (the commit)}.
 */
export class ModelStore {
  readonly cacheDir: string;
  readonly spoolDir: string;
  readonly quarantineDir: string;

  private readonly openWriter: OpenWriter | undefined;

  /** `options.openWriter` replaces node:fs for the partial files of downloads (tests inject faults). */
  constructor(
    readonly home: string,
    options: { openWriter?: OpenWriter } = {},
  ) {
    this.openWriter = options.openWriter;
    this.cacheDir = path.join(home, 'cache');
    // Outside the cache, so HF cache scanners see only models--* folders there.
    this.spoolDir = path.join(home, 'spool');
    this.quarantineDir = path.join(home, 'quarantine');
  }

  /** <cache>/models--org--name */
  modelFolder(ref: ModelRef): string {
    return path.join(this.cacheDir, ref.cacheFolder);
  }

  /** <cache>/models--org--name/snapshots/<commit> */
  snapshotFolder(ref: ModelRef, commit: string): string {
    return path.join(this.modelFolder(ref), 'snapshots', checkCommit(commit));
  }

  /** The commit refs/<revision> points to, or null. */
  async readRef(ref: ModelRef, revision: string): Promise<string | null> {
    const file = pathInside(path.join(this.modelFolder(ref), 'refs'), checkRevision(revision));
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    const commit = text?.trim() ?? '';
    return /^[0-9a-f]{40}$/.test(commit) ? commit : null;
  }

  /** Every file present in the snapshot with the right size (no hashing). */
  async isComplete(ref: ModelRef, snapshot: Snapshot): Promise<boolean> {
    const snap = checkSnapshot(snapshot);
    const dir = this.snapshotFolder(ref, snap.commit);
    for (const file of snap.files) {
      const stat = await fs.stat(pathInside(dir, file.path)).catch(() => null);
      if (!stat?.isFile() || stat.size !== file.size) return false;
    }
    return true;
  }

  /**
   * Downloads what is missing (resume, verify, atomic rename, one download per blob) and links
   * the snapshot. The snapshot is checked first (it may come from a hand-edited lock), so a bad
   * path or hash fails before anything is written. Stopping the iteration cancels the downloads.
   */
  pull(ref: ModelRef, source: ModelSource, snapshot: Snapshot, opts: PullOptions = {}): AsyncIterable<PullEvent> {
    const snap = checkSnapshot(snapshot);
    if (opts.revision !== undefined) checkRevision(opts.revision);
    return this.pullEvents(ref, source, snap, opts);
  }

  private async *pullEvents(ref: ModelRef, source: ModelSource, snap: Snapshot, opts: PullOptions): AsyncGenerator<PullEvent> {
    const modelDir = this.modelFolder(ref);
    const blobsDir = path.join(modelDir, 'blobs');
    const snapshotDir = this.snapshotFolder(ref, snap.commit);
    const blobOf = (sha256: string) => path.join(blobsDir, sha256);
    const files = await Promise.all(
      snap.files.map(async (file) => ({ file, cached: (await fs.stat(blobOf(file.sha256)).catch(() => null))?.size === file.size })),
    );
    const totalBytes = files.reduce((n, f) => n + f.file.size, 0);
    yield { type: 'start', modelId: ref.id, commit: snap.commit, files: files.map((f) => ({ path: f.file.path, size: f.file.size, cached: f.cached })), totalBytes };
    await fs.mkdir(blobsDir, { recursive: true });
    await fs.mkdir(snapshotDir, { recursive: true });

    const controller = new AbortController();
    const stop = () => controller.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', stop, { once: true });
    if (opts.signal?.aborted) stop();
    const queue = new EventQueue<PullEvent>();
    const bytes = new Map<string, number>(files.map((f) => [f.file.path, f.cached ? f.file.size : 0]));
    const lastEmit = new Map<string, number>();
    let doneBytes = files.reduce((n, f) => n + (f.cached ? f.file.size : 0), 0);

    const fetchOne = async ({ file, cached }: { file: SourceFile; cached: boolean }) => {
      if (!cached) {
        await downloads.ensure({
          blobPath: blobOf(file.sha256),
          file,
          open: (offset, signal) => source.open(snap.commit, file, offset, signal),
          signal: controller.signal,
          retries: opts.retries ?? 3,
          retryDelayMs: opts.retryDelayMs ?? 500,
          onBytes: (fileBytes) => {
            if (fileBytes === bytes.get(file.path)) return;
            doneBytes += fileBytes - (bytes.get(file.path) ?? 0);
            bytes.set(file.path, fileBytes);
            // At most one event per file every PROGRESS_MS (plus the last one): a progress bar needs no more.
            const now = Date.now();
            if (fileBytes !== file.size && now - (lastEmit.get(file.path) ?? 0) < PROGRESS_MS) return;
            lastEmit.set(file.path, now);
            queue.push({ type: 'progress', path: file.path, fileBytes, fileSize: file.size, doneBytes, totalBytes });
          },
          onRetry: (attempt, reason) => queue.push({ type: 'retry', path: file.path, attempt, reason }),
          ...(this.openWriter && { openWriter: this.openWriter }),
        });
      }
      await linkFile(snapshotDir, blobOf(file.sha256), file.path);
      queue.push({ type: 'file', path: file.path, cached });
    };
    const work = runLimited(files, opts.concurrency ?? 3, fetchOne, controller);
    try {
      yield* queue.drain(work);
    } catch (err) {
      const realFailure = err instanceof ModelMoraError && err.code !== 'CANCELLED';
      if (opts.signal?.aborted && !realFailure) throw new ModelMoraError('CANCELLED', 'Pull cancelled', { cause: err });
      throw err;
    } finally {
      // Also runs when the consumer stops iterating early: cancel whatever still downloads.
      if (!controller.signal.aborted) controller.abort();
      opts.signal?.removeEventListener('abort', stop);
      await work.catch(() => undefined);
    }
    if (opts.revision !== undefined && opts.revision !== snap.commit) await writeRef(modelDir, opts.revision, snap.commit);
    yield { type: 'done', folder: snapshotDir };
  }

  /** Re-hashes every file; a bad blob moves to <home>/quarantine/ and its link is removed. */
  async verify(ref: ModelRef, snapshot: Snapshot): Promise<VerifyReport> {
    const snap = checkSnapshot(snapshot);
    const dir = this.snapshotFolder(ref, snap.commit);
    const report: VerifyReport = { ok: [], bad: [] };
    const blobsDir = path.join(this.modelFolder(ref), 'blobs');
    for (const file of snap.files) {
      const entry = pathInside(dir, file.path);
      // Follows the link, so a link pointing at the wrong blob is caught too.
      const actual = await hashFile(entry).catch(() => null);
      let reason: string | null = null;
      if (!actual) reason = 'missing';
      else if (actual.size !== file.size) reason = `size ${actual.size}, expected ${file.size}`;
      else if (actual.sha256 !== file.sha256) reason = 'sha256 mismatch';
      if (reason === null) {
        report.ok.push(file.path);
        continue;
      }
      report.bad.push({ path: file.path, reason });
      const real = actual ? await fs.realpath(entry).catch(() => null) : null;
      // Only what the cache owns moves: a blob, or a copied file in the snapshot itself.
      if (real && (isInside(blobsDir, real) || isInside(dir, real))) await this.quarantine(ref, real, file.sha256);
      await fs.rm(entry, { force: true });
    }
    return report;
  }

  /** Moves a bad file out of the cache, kept for inspection rather than deleted. */
  private async quarantine(ref: ModelRef, file: string, sha256: string): Promise<void> {
    const dir = path.join(this.quarantineDir, ref.cacheFolder);
    await fs.mkdir(dir, { recursive: true });
    await fs.rename(file, path.join(dir, `${sha256}.${Date.now()}`)).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV') throw err;
      await fs.copyFile(file, path.join(dir, `${sha256}.${Date.now()}`));
      await fs.rm(file, { force: true });
    });
  }

  /** Deletes the model's whole cache folder (the daemon must not hold it loaded). */
  async remove(ref: ModelRef): Promise<void> {
    await fs.rm(this.modelFolder(ref), { recursive: true, force: true });
  }
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Runs `fn` over `items`, `limit` at a time; the first failure aborts the rest. */
async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, controller: AbortController): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure && !controller.signal.aborted) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
        controller.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
  if (controller.signal.aborted) throw new ModelMoraError('CANCELLED', 'Pull cancelled');
}
