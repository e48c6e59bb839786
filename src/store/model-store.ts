import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelRef } from '../domain/model-ref.js';
import { checkCommit } from '../hub/snapshot-check.js';
import type { ModelSource, Snapshot } from '../hub/source.js';

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

/**
 * The content-addressed model cache at <home>/cache, in the Hugging Face cache layout so
 * HF_HOME tools can read it: models--org--name/{blobs/<sha256>, snapshots/<commit>/<path>
 * (relative symlink to the blob), refs/<revision> (the commit)}.
 */
export class ModelStore {
  readonly cacheDir: string;
  readonly spoolDir: string;
  readonly quarantineDir: string;

  constructor(readonly home: string) {
    this.cacheDir = path.join(home, 'cache');
    this.spoolDir = path.join(this.cacheDir, '.spool');
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
    throw new Error('not implemented');
  }

  /** Every file present in the snapshot with the right size (no hashing). */
  async isComplete(ref: ModelRef, snapshot: Snapshot): Promise<boolean> {
    throw new Error('not implemented');
  }

  /** Downloads what is missing (resume, verify, atomic rename, one download per blob) and links the snapshot. */
  pull(ref: ModelRef, source: ModelSource, snapshot: Snapshot, opts: PullOptions = {}): AsyncIterable<PullEvent> {
    throw new Error('not implemented');
  }

  /** Re-hashes every file; a bad blob moves to <home>/quarantine/ and its link is removed. */
  async verify(ref: ModelRef, snapshot: Snapshot): Promise<VerifyReport> {
    throw new Error('not implemented');
  }

  /** Deletes the model's whole cache folder. */
  async remove(ref: ModelRef): Promise<void> {
    await fs.rm(this.modelFolder(ref), { recursive: true, force: true });
  }
}
