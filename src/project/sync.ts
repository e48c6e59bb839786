import { ModelMoraError } from '../domain/errors.js';
import type { Config } from '../config/config.js';
import { createSource, type ModelSource, type Snapshot } from '../hub/source.js';
import type { ModelStore, PullEvent, VerifyReport } from '../store/model-store.js';
import { buildLockEntry, diffLock, type LockEntry, type LockFile } from './lockfile.js';
import type { Manifest, ModelSpec } from './manifest.js';

/**
 * The package-manager steps between modelmora.yaml, modelmora.lock, a source and the cache:
 * resolve (lock), check a lock against its source (frozen), pull, verify. Sources and the store
 * are passed in, so these run the same under the CLI, the daemon and tests.
 */

/** The part of the cache these steps use (a fake in unit tests). */
export type SyncStore = Pick<ModelStore, 'isComplete' | 'pull' | 'verify'>;

export interface SyncDeps {
  store: SyncStore;
  /** Builds the source of one yaml entry (hub, folder or URL) from the resolved config. */
  sourceFor(spec: ModelSpec): ModelSource;
  signal?: AbortSignal;
}

/**
 * The one way a yaml entry becomes its source (hub, folder or URL): the CLI and the daemon both
 * use it, so a model resolves the same whichever of them fetches it.
 */
export function sourceFactory(config: Pick<Config, 'hub_url' | 'hf_token'>, baseDir: string, spoolDir: string): (spec: ModelSpec) => ModelSource {
  return (spec) =>
    createSource(spec.ref, {
      ...(spec.sourceText !== undefined ? { source: spec.sourceText } : {}),
      hubUrl: config.hub_url,
      token: config.hf_token,
      baseDir,
      spoolDir,
    });
}

export async function resolveEntry(spec: ModelSpec, deps: Pick<SyncDeps, 'sourceFor'>): Promise<LockEntry> {
  const source = deps.sourceFor(spec);
  const snapshot = await source.resolve(spec.revision, spec.files);
  return buildLockEntry(spec, source.location, snapshot);
}

export function lockedSnapshot(entry: LockEntry): Snapshot {
  return { commit: entry.commit, files: entry.files.map((f) => ({ ...f })) };
}

/** Throws LOCK_MISMATCH listing every way the yaml and the lock disagree. */
export function assertLockMatches(manifest: Manifest, lock: LockFile | undefined): void {
  const drifts = diffLock(manifest, lock);
  if (lock === undefined) {
    throw new ModelMoraError('LOCK_MISMATCH', 'modelmora.lock is missing; run modelmora lock and commit it');
  }
  if (drifts.length > 0) {
    throw new ModelMoraError('LOCK_MISMATCH', `modelmora.lock is out of date: ${summarize(drifts.map((d) => d.message))}; run modelmora lock`, {
      details: { drifts },
    });
  }
}

/**
 * Frozen check of one model: resolves the locked commit at its source and demands the same
 * files, sizes and hashes. A commit cannot change on the Hub, so a difference means a
 * tampered mirror or a changed local folder.
 */
export async function assertSourceMatches(entry: LockEntry, source: ModelSource): Promise<void> {
  const resolved = await source.resolve(entry.commit, entry.patterns);
  const problems: string[] = [];
  const atSource = new Map(resolved.files.map((f) => [f.path, f]));
  for (const locked of entry.files) {
    const found = atSource.get(locked.path);
    if (!found) problems.push(`${locked.path} is in the lock but not at the source`);
    else if (found.sha256 !== locked.sha256) {
      problems.push(`${locked.path} has sha256 ${found.sha256.slice(0, 12)}... at the source but ${locked.sha256.slice(0, 12)}... in the lock`);
    } else if (found.size !== locked.size) problems.push(`${locked.path} has ${found.size} bytes at the source but ${locked.size} in the lock`);
    atSource.delete(locked.path);
  }
  for (const extra of atSource.keys()) problems.push(`${extra} is at the source but not in the lock`);
  if (problems.length === 0 && resolved.commit !== entry.commit) problems.push(`the source resolved commit ${resolved.commit.slice(0, 12)}, the lock has ${entry.commit.slice(0, 12)}`);
  if (problems.length > 0) {
    throw new ModelMoraError('LOCK_MISMATCH', `${entry.model_id}: ${summarize(problems)}`, { details: { problems } });
  }
}

export interface PullSummary {
  model_id: string;
  commit: string;
  files: number;
  bytes: number;
  /** Files fetched now (0 when the cache already held the snapshot). */
  downloaded: number;
  downloaded_bytes: number;
}

export interface PullModelOptions {
  /** Check the source against the lock before fetching (pull --frozen). */
  frozen?: boolean;
  onEvent?: (modelId: string, event: PullEvent) => void;
}

/**
 * Makes the cache hold the locked snapshot. A snapshot already complete in the cache is
 * accepted without building a source or making any request.
 */
export async function pullEntry(spec: ModelSpec, entry: LockEntry, deps: SyncDeps, options: PullModelOptions = {}): Promise<PullSummary> {
  const snapshot = lockedSnapshot(entry);
  const summary: PullSummary = {
    model_id: entry.model_id,
    commit: entry.commit,
    files: entry.files.length,
    bytes: entry.files.reduce((sum, f) => sum + f.size, 0),
    downloaded: 0,
    downloaded_bytes: 0,
  };
  if (await deps.store.isComplete(spec.ref, snapshot)) return summary;
  const source = deps.sourceFor(spec);
  if (options.frozen) await assertSourceMatches(entry, source);
  const sizes = new Map(entry.files.map((f) => [f.path, f.size]));
  const pullOptions = deps.signal ? { revision: entry.revision, signal: deps.signal } : { revision: entry.revision };
  for await (const event of deps.store.pull(spec.ref, source, snapshot, pullOptions)) {
    if (event.type === 'file' && !event.cached) {
      summary.downloaded += 1;
      summary.downloaded_bytes += sizes.get(event.path) ?? 0;
    }
    options.onEvent?.(entry.model_id, event);
  }
  return summary;
}

export interface ModelVerifyReport extends VerifyReport {
  model_id: string;
}

export async function verifyEntry(spec: ModelSpec, entry: LockEntry, store: SyncStore): Promise<ModelVerifyReport> {
  const report = await store.verify(spec.ref, lockedSnapshot(entry));
  return { model_id: entry.model_id, ok: report.ok, bad: report.bad };
}

/** One line for many problems: the first three, then a count. */
export function summarize(lines: readonly string[]): string {
  const shown = lines.slice(0, 3).join('; ');
  return lines.length > 3 ? `${shown}; and ${lines.length - 3} more` : shown;
}
